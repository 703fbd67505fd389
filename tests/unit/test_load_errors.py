"""Loading CWL that is missing or wrong: one InputError that names the file, line and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from saber.cwl import load_process
from saber.errors import InputError

CWL = Path(__file__).resolve().parents[1] / "data" / "cwl"
INVALID = CWL / "invalid"


def load_error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load_process(path)
    return info.value


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.cwl"
    with pytest.raises(InputError, match=r"nope\.cwl: no such CWL file$") as info:
        load_process(path)
    assert (info.value.where.file, info.value.where.line) == (str(path), None)


def test_a_directory_is_not_a_cwl_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="the CWL file is a directory, not a file"):
        load_process(tmp_path)


@pytest.mark.parametrize("name, file, line, field, message", [
    pytest.param("bad_yaml", "bad_yaml", 6, None, r"expected ',' or '}', but got ':'",
                 id="invalid-yaml"),
    pytest.param("unknown_type", "unknown_type", 6, "type",
                 r"Field 'type' references unknown identifier 'integer'", id="unknown-type"),
    pytest.param("missing_run", "missing_run", 8, "run",
                 r"Field 'run' contains undefined reference to '.*no_such_tool\.cwl'",
                 id="missing-run-file"),
    pytest.param("runs_bad_tool", "unknown_type", 6, "type",
                 r"Field 'type' references unknown identifier 'integer'", id="error-in-the-run-tool"),
    pytest.param("unknown_source", "unknown_source", 9, "source",
                 r"Field 'source' references unknown identifier 'nowhere'", id="unknown-source"),
    pytest.param("no_class", "no_class", 1, None, r"Missing 'class' field", id="no-class"),
    # schema-salad lists the unknown `source` say/text first; it only follows from the missing file.
    pytest.param("missing_run_then_source", "missing_run_then_source", 9, "run",
                 r"^Field 'run' contains undefined reference to '.*no_such_tool\.cwl'$",
                 id="missing-run-file-before-its-consequences"),
    # cwltool's checker writes one problem over two places: the source's, then the sink's.
    pytest.param("incompatible_source", "incompatible_source", 5, None,
                 r"""^Source 'message' of type "string" is incompatible with sink 'times' of type "int"$""",
                 id="source-incompatible-with-sink"),
    pytest.param("dev_version", "dev_version", 1, "cwlVersion",
                 r"^'v1\.3\.0-dev1' is not supported: saber runs CWL v1\.0, v1\.1 and v1\.2$",
                 id="cwlVersion-dev"),
    pytest.param("runs_dev_version", "dev_version", 1, "cwlVersion",
                 r"^'v1\.3\.0-dev1' is not supported: saber runs CWL v1\.0, v1\.1 and v1\.2$",
                 id="cwlVersion-dev-in-the-run-tool"),
    pytest.param("bad_version", "bad_version", 1, "cwlVersion",
                 r"^'v0\.9' is not supported: saber runs CWL v1\.0, v1\.1 and v1\.2$", id="cwlVersion-v0.9"),
])
def test_invalid_cwl(name: str, file: str, line: int, field: str | None, message: str) -> None:
    error = load_error(INVALID / f"{name}.cwl")
    assert (error.where.file, error.where.line, error.where.field) == (
        str(INVALID / f"{file}.cwl"), line, field)
    assert "\n" not in str(error)
    assert str(error).startswith(f"{INVALID / file}.cwl:{line}: ")
    assert re.search(message, error.message)
    assert "--enable-dev" not in error.message


def test_only_the_first_problem_is_shown() -> None:
    # Two incompatible links: the message is the first cwltool reports, whole, and nothing of
    # the second.
    error = load_error(INVALID / "incompatible_source.cwl")
    assert "with sink 'times'" in error.message and "count" not in error.message


@pytest.mark.parametrize("name, message", [
    pytest.param("not_cwl", "a CWL document must be a mapping", id="a-list"),
])
def test_invalid_cwl_without_a_line(name: str, message: str) -> None:
    path = INVALID / f"{name}.cwl"
    with pytest.raises(InputError, match=message) as info:
        load_process(path)
    assert info.value.where.file == str(path)


def test_error_keeps_the_cause() -> None:
    error = load_error(INVALID / "unknown_source.cwl")
    assert error.__cause__ is not None
