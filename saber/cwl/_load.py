"""Load CWL documents with cwltool and turn its validation errors into file:line messages."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from saber.cwl._errors import _PLACE, _resolve_file, as_input_error
from saber.errors import InputError

__all__ = ["load_process", "loading_context", "warm_schema"]

_extensions_on = False


class _OwnHints(logging.Filter):
    """cwltool notes every hint it does not know ("Unknown hint saber"); saber's own hints are
    known to saber, so that note would only worry its users."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("Unknown hint" in message and ("saber" in message.rsplit("Unknown hint", 1)[1]))


def _enable_extensions() -> None:
    """cwltool's extensions (CUDARequirement above all) may then appear under `requirements`,
    not only `hints`: what `cwltool --enable-ext` does."""
    global _extensions_on
    if not _extensions_on:
        logging.getLogger("cwltool").addFilter(_OwnHints())
        import argparse

        from cwltool.main import setup_schema

        setup_schema(argparse.Namespace(enable_ext=True), None)
        _extensions_on = True


def warm_schema() -> None:
    """Load cwltool's CWL schema now (about a second of YAML parsing) so that the processes
    forked afterwards share it instead of each parsing it again."""
    from cwltool.process import get_schema
    from cwltool.update import INTERNAL_VERSION

    _enable_extensions()
    get_schema(INTERNAL_VERSION)


def loading_context(**overrides: Any):
    """A cwltool LoadingContext that builds real Workflow/CommandLineTool objects."""
    from cwltool.context import LoadingContext
    from cwltool.workflow import default_make_tool

    _enable_extensions()

    ctx = LoadingContext({"construct_tool_object": default_make_tool, "relax_path_checks": True})
    for key, value in overrides.items():
        setattr(ctx, key, value)
    return ctx


def load_process(path: str | Path):
    """Load and validate a CWL Workflow or tool; every failure is an InputError with file:line.

    ``path`` may end in ``#id`` to pick one process of a packed document (``tool.cwl#main``).
    """
    text = str(path)
    path, _, fragment = text.partition("#") if "#" in text and not Path(text).exists() else (text, "", "")
    path = Path(path)
    _precheck(path)
    uri = path.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    from cwltool.load_tool import load_tool
    from schema_salad.exceptions import ValidationException
    from cwl_utils.errors import WorkflowException

    # cwltool and schema-salad log the errors they raise; keep the user's terminal to one message.
    quiet, salad = logging.getLogger("cwltool"), logging.getLogger("salad")
    saved = quiet.level, salad.level, salad.handlers, salad.propagate
    quiet.setLevel(logging.CRITICAL)
    twice = _Duplicates()  # salad's warnings reach only this handler
    salad.setLevel(logging.WARNING)
    salad.handlers, salad.propagate = [twice], False
    try:
        process = load_tool(uri, loading_context())
    except (ValidationException, WorkflowException) as e:
        raise twice.error(path) or as_input_error(e, path) from e
    except FileNotFoundError as e:
        raise InputError(f"file not found: {e.filename or e}", file=path) from e
    except RecursionError as e:
        raise InputError("the CWL document is nested too deeply", file=path) from e
    except Exception as e:  # ruamel/yaml errors surface under several types
        raise as_input_error(e, path) from e
    finally:
        quiet.setLevel(saved[0])
        salad.setLevel(saved[1])
        salad.handlers, salad.propagate = saved[2], saved[3]
    if error := twice.error(path):
        raise error
    return process


class _Duplicates(logging.Handler):
    """schema-salad only warns about an id defined twice (two steps of one name): the second
    silently replaces the first. saber makes it an error."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "previously defined" in str(record.msg):
            self.records.append(record)

    def error(self, path: Path) -> InputError | None:
        """The first id defined twice in one list (two steps, two inputs); an output and a step
        of one name are accepted, as cwltool accepts them."""
        twice = [r for r in self.records if _twice_in_one_list(path, str((r.args or ("", "", ""))[2]))]
        if not twice:
            return None
        lead, kind, name = (twice[0].args or ("", "id", "?"))[:3]
        place = _PLACE.match(f"{lead} x")
        file, line = (_resolve_file(place.group("file"), path), int(place.group("line"))) if place else (path, None)
        return InputError(f"{kind} '{str(name).rsplit('#', 1)[-1]}' is defined more than once (first here): "
                          f"every {kind} in a CWL document must be unique", file=file, line=line, field=kind)


def _twice_in_one_list(path: Path, name: str) -> bool:
    """Whether some list of the CWL file (inputs, outputs, steps, a step's in/out, ...) holds two
    entries with the id ``name`` (schema-salad keeps ids of all kinds in one table)."""
    from saber._yaml import read_yaml

    short = name.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
    try:
        doc = read_yaml(path, "CWL file")
    except InputError:
        return True

    def walk(node) -> bool:
        if isinstance(node, list):
            ids = [str(item.get("id", "")).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
                   for item in node if isinstance(item, dict)]
            return ids.count(short) > 1 or any(walk(v) for v in node)
        if isinstance(node, dict):
            return any(walk(v) for v in node.values())
        return False

    return walk(doc)


def _precheck(path: Path) -> None:
    """What cwltool reports badly or never: a directory, an empty or non-UTF-8 file, and YAML
    aliases that expand without end (schema-salad would walk all of them)."""
    if path.is_dir():
        raise InputError("the CWL file is a directory, not a file", file=path)
    if not path.is_file():
        link = path.is_symlink() and " (a symbolic link to nothing: a loop or a missing target)"
        raise InputError(f"no such CWL file{link or ''}", file=path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"the CWL file is not UTF-8 text (byte {e.start} cannot be decoded)", file=path) from e
    except OSError as e:
        raise InputError(f"cannot read the CWL file: {e.strerror or e}", file=path) from e
    if all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()):
        raise InputError("the CWL file is empty", file=path)
    from saber._yaml import check_depth

    check_depth(text, str(path))
    if "&" in text:  # an anchor: its aliases may stand for more than the file holds
        from saber._yaml import read_yaml

        try:
            read_yaml(path, "CWL file")
        except InputError as e:
            if "alias" in e.message or "nested" in e.message:
                raise
            # any other YAML error is cwltool's to report, in its words
