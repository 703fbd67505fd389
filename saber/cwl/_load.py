"""Load CWL documents with cwltool and turn its validation errors into file:line messages."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from saber.cwl._errors import as_input_error
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
    if not path.is_file():
        raise InputError("no such CWL file", file=path)
    uri = path.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    from cwltool.load_tool import load_tool
    from schema_salad.exceptions import ValidationException
    from cwl_utils.errors import WorkflowException

    # cwltool logs the same errors it raises; keep the user's terminal to one message.
    quiet = logging.getLogger("cwltool")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        return load_tool(uri, loading_context())
    except (ValidationException, WorkflowException) as e:
        raise as_input_error(e, path) from e
    except FileNotFoundError as e:
        raise InputError(f"file not found: {e.filename or e}", file=path) from e
    except Exception as e:  # ruamel/yaml errors surface under several types
        raise as_input_error(e, path) from e
    finally:
        quiet.setLevel(level)
