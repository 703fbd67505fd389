"""One family of exceptions; the CLI turns every SaberError into a message and exit code 2."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "SaberError",
    "BackendUnavailable",
    "InputError",
    "RunFailed",
    "DockerUnavailable",
    "StepFailed",
    "StorageError",
    "UnsupportedRequirement",
]


class SaberError(Exception):
    """Base of every error saber reports to a user without a traceback."""

    exit_code = 2


@dataclass
class Where:
    """A place in a user's file: used to prefix messages with file:line and field."""

    file: str | None = None
    line: int | None = None  # 1-based
    field: str | None = None

    def __str__(self) -> str:
        place = self.file or ""
        if self.file and self.line:
            place += f":{self.line}"
        if self.field:
            place += f"{': ' if place else ''}field '{self.field}'"
        return place


class InputError(SaberError):
    """A user's file (workflow, sweep, job) is missing or wrong."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.where = Where(str(file) if file is not None else None, line, field)
        self.message = message
        place = str(self.where)
        super().__init__(f"{place}: {message}" if place else message)

    def __reduce__(self):
        # Keeps file/line/field when the error crosses a process boundary (saber run validates
        # in a child process).
        return (_input_error, (self.message, self.where.file, self.where.line, self.where.field))


def _input_error(message: str, file: str | None, line: int | None, field: str | None) -> InputError:
    return InputError(message, file=file, line=line, field=field)


class DockerUnavailable(SaberError):
    """No Docker engine answers."""


class UnsupportedRequirement(SaberError):
    """The workflow needs a CWL feature saber does not run."""

    exit_code = 33


class StepFailed(SaberError):
    """A CWL step ended in failure; carries the exit code and the tail of its stderr."""

    def __init__(self, step: str, tool_exit_code: int | None, log_tail: str = "") -> None:
        self.step = step
        self.tool_exit_code = tool_exit_code
        self.log_tail = log_tail
        code = (f"with exit code {tool_exit_code}" if tool_exit_code is not None
                else "before its tool ran or while collecting its outputs")
        super().__init__(f"step '{step}' failed {code}" + (f"\n{log_tail}" if log_tail else ""))


class BackendUnavailable(SaberError):
    """The backend cannot be reached, refuses the credentials, or lacks a permission."""


class StorageError(SaberError):
    """Run storage (a local folder or S3) cannot be read or written; one sentence naming where."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        self.url = url
        super().__init__(message)

    def __reduce__(self):
        return (_storage_error, (str(self), self.url))


def _storage_error(message: str, url: str | None) -> StorageError:
    return StorageError(message, url=url)


class RunFailed(SaberError):
    """A DAG run finished, but not successfully (exit status 1, like cwltool)."""

    exit_code = 1
