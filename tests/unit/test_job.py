"""CWL job files: values typed against the workflow's inputs, required inputs, absolute paths."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from saber_testing import yaml_writer

from saber.cwl._job import absolute_locations, check_inputs, job_floats, load_job, warn_ignored_keys
from saber.errors import InputError

CWL = Path(__file__).resolve().parents[1] / "data" / "cwl"
PlanOf = Callable[[Path], dict]  # the plan_of fixture (tests/unit/conftest.py)


@pytest.fixture
def plan(plan_of: PlanOf) -> dict:
    """Inputs: count int=3, ratio double?, name string, image File, mode enum, either int|string,
    tags string[]=[a]."""
    return plan_of(CWL / "param_types_wf.cwl")


@pytest.fixture
def job_file(tmp_path: Path) -> Callable[[str], Path]:
    """Write dedented YAML to a fresh job.yml and return its path."""
    return yaml_writer(tmp_path, "job.yml")


def test_valid_job(plan: dict, job_file: Callable[[str], Path], tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "img.npy").write_bytes(b"")  # a job's files must exist
    path = job_file("""
        count: 4
        ratio: 1
        name: run
        image: {class: File, path: data/img.npy}
        mode: slow
        either: seven
        tags: [x, y]
    """)
    assert load_job(path, plan) == {
        "count": 4, "ratio": 1, "name": "run", "mode": "slow", "either": "seven", "tags": ["x", "y"],
        "image": {"class": "File", "location": (tmp_path / "data" / "img.npy").as_uri()}}


def test_ints_stay_ints_also_for_a_double(plan: dict, job_file: Callable[[str], Path]) -> None:
    # cwltool keeps them: an int given to a double is `2` on the command line, not `2.0`.
    job = load_job(job_file("count: 4\nratio: 2\neither: 5\n"), plan)
    assert [(v, type(v)) for v in job.values()] == [(4, int), (2, int), (5, int)]


def test_keys_that_are_no_input_are_dropped_with_one_warning(
        plan: dict, job_file: Callable[[str], Path], caplog: pytest.LogCaptureFixture) -> None:
    path = job_file("count: 1\n_saber_bucket: b\ncolour: red\n")
    assert load_job(path, plan) == {"count": 1}
    assert not caplog.records  # reading the job is silent: it happens more than once per run
    assert warn_ignored_keys(path, plan) == ["_saber_bucket", "colour"]
    [record] = caplog.records
    assert record.levelname == "WARNING"
    assert record.getMessage().startswith(f"{path}:2: ignoring job keys '_saber_bucket', 'colour', which "
                                          "are no inputs of workflow param_types_wf (inputs: count, ")


def test_no_warning_when_every_key_is_an_input(plan: dict, job_file: Callable[[str], Path],
                                                caplog: pytest.LogCaptureFixture) -> None:
    assert warn_ignored_keys(job_file("count: 1\n"), plan) == [] and not caplog.records


def test_job_floats_as_written(job_file: Callable[[str], Path]) -> None:
    assert job_floats(job_file("a: 2.50\nb: 1e-5\nc: 3\n")) == {"2.5": "2.50", "1e-05": "1e-5"}


@pytest.mark.parametrize("text, line, field, message", [
    pytest.param("# first\ncount: three\n", 2, "count", r"expected int, got string 'three'",
                 id="string-for-int"),
    pytest.param("count: 2.0\n", 1, "count", r"expected int, got float 2.0 \(write 2 for an int\)",
                 id="float-for-int"),
    pytest.param("name: n\nimage: img.npy\n", 2, "image", r"expected File, got string 'img.npy'",
                 id="string-for-File"),
    pytest.param("mode: medium\n", 1, "mode", r"expected enum\(fast, slow\), got string 'medium'",
                 id="not-an-enum-symbol"),
    pytest.param("tags: [a, 1]\n", 1, "tags", r"item 1: expected string, got int 1", id="array-item"),
    pytest.param("count: 1\nname:\n", 2, "name", r"expected string, got null", id="null-required"),
])
def test_bad_value(plan: dict, job_file: Callable[[str], Path], text: str, line: int, field: str,
                   message: str) -> None:
    path = job_file(text)
    with pytest.raises(InputError, match=message) as info:
        load_job(path, plan)
    assert (info.value.where.file, info.value.where.line, info.value.where.field) == (
        str(path), line, field)
    assert str(info.value).startswith(f"{path}:{line}: field '{field}': ")


@pytest.mark.parametrize("text, line, message", [
    pytest.param("- count\n", 1, "a job file must be a mapping of input names to values", id="a-list"),
    pytest.param("count: [1\n", 2, "invalid YAML", id="invalid-yaml"),
])
def test_bad_file(plan: dict, job_file: Callable[[str], Path], text: str, line: int, message: str) -> None:
    path = job_file(text)
    with pytest.raises(InputError, match=message) as info:
        load_job(path, plan)
    assert (info.value.where.file, info.value.where.line) == (str(path), line)


def test_missing_job_file(plan: dict, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.yml: job file not found"):
        load_job(tmp_path / "nope.yml", plan)


def test_empty_job_file(plan: dict, job_file: Callable[[str], Path]) -> None:
    assert load_job(job_file("# nothing\n"), plan) == {}


# -- required inputs ----------------------------------------------------------------------------

REQUIRED = {"name": "n", "image": {"class": "File", "location": "file:///i"}, "mode": "fast",
            "either": 1}


@pytest.mark.parametrize("missing, shown", [
    pytest.param("name", "string", id="string"),
    pytest.param("image", "File", id="File"),
    pytest.param("mode", r"enum\(fast, slow\)", id="enum"),
    pytest.param("either", r"int \| string", id="union"),
])
def test_missing_required_input(plan: dict, missing: str, shown: str) -> None:
    job = {k: v for k, v in REQUIRED.items() if k != missing}
    with pytest.raises(InputError, match=rf"job\.yml: field '{missing}': required input '{missing}' "
                                         rf"\({shown}\) has no value$") as info:
        check_inputs(job, plan, file="job.yml")
    assert (info.value.where.file, info.value.where.field) == ("job.yml", missing)


def test_missing_required_input_without_job_file(plan: dict) -> None:
    with pytest.raises(InputError, match=r"required input 'either' \(int \| string\) has no value; "
                                         r"give it in a job file with --job"):
        check_inputs({}, plan)


@pytest.mark.parametrize("extra", [
    pytest.param({}, id="defaults-and-optionals-left-out"),
    pytest.param({"ratio": None, "count": None}, id="null-optional-and-null-with-default"),
])
def test_required_inputs_given(plan: dict, extra: dict) -> None:
    check_inputs({**REQUIRED, **extra}, plan)


# -- paths --------------------------------------------------------------------------------------

BASE = Path("/jobs/here")


def file(**fields: object) -> dict:
    return {"class": "File", **fields}


@pytest.mark.parametrize("value, expected", [
    pytest.param(file(path="a.txt"), file(location="file:///jobs/here/a.txt"), id="relative-path"),
    pytest.param(file(location="../b.txt"), file(location="file:///jobs/b.txt"), id="relative-location"),
    pytest.param(file(path="/data/c.txt"), file(location="file:///data/c.txt"), id="absolute-path"),
    pytest.param(file(location="s3://bucket/d"), file(location="s3://bucket/d"), id="uri-kept"),
    pytest.param({"class": "Directory", "path": "dir"},
                 {"class": "Directory", "location": "file:///jobs/here/dir"}, id="directory"),
    pytest.param(file(contents="x"), file(contents="x"), id="literal-file"),
    pytest.param([file(path="a"), 3], [file(location="file:///jobs/here/a"), 3], id="in-a-list"),
    pytest.param(file(path="a", secondaryFiles=[file(path="a.idx")]),
                 file(location="file:///jobs/here/a",
                      secondaryFiles=[file(location="file:///jobs/here/a.idx")]), id="secondary-files"),
    pytest.param({"record": file(path="r")}, {"record": file(location="file:///jobs/here/r")},
                 id="in-a-record"),
    pytest.param("a.txt", "a.txt", id="plain-string"),
])
def test_absolute_locations(value, expected) -> None:
    assert absolute_locations(value, BASE) == expected
