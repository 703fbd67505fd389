"""The `saber` command in-process: help, `saber dag`, and bad input reported before Docker."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from saber.cli import main

ROOT = Path(__file__).resolve().parents[2]
CWL = ROOT / "tests" / "data" / "cwl"
INVALID = CWL / "invalid"
SAMPLE = ROOT / "workflows" / "blob_count.cwl"

Write = Callable[[str, str], Path]


@pytest.fixture
def no_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if saber gets as far as asking for Docker."""
    import saber.backends.embedded._docker

    def touched(*args, **kwargs) -> None:
        pytest.fail("Docker was checked before the bad input was reported")

    monkeypatch.setattr(saber.backends.embedded._docker, "check_docker", touched)


# -- help ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, shown", [
    pytest.param(["--help"], ["saber run workflows/blob_count.cwl sweeps/blob_count.yml",
                              "saber dag", "saber ui", "$SABER_HOME"], id="saber"),
    pytest.param(["run", "--help"], ["examples:", "saber run workflows/blob_count.cwl", "--job",
                                     "--outdir"], id="run"),
    pytest.param(["dag", "--help"], ["example:", "saber dag workflows/blob_count.cwl -o", "--output"],
                 id="dag"),
    pytest.param(["ui", "--help"], ["example:", "saber ui --port 8080"], id="ui"),
])
def test_help(capsys: pytest.CaptureFixture[str], argv: list[str], shown: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    out = capsys.readouterr().out
    for text in shown:
        assert text in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from saber import __version__

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert (info.value.code, capsys.readouterr().out.strip()) == (0, f"saber {__version__}")


@pytest.mark.parametrize("argv", [
    pytest.param([], id="no-command"),
    pytest.param(["dag", str(SAMPLE)], id="dag-without-output"),
    pytest.param(["launch"], id="unknown-command"),
])
def test_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage: saber" in capsys.readouterr().err


# -- saber dag ----------------------------------------------------------------------------------

def test_dag_writes_dag_file_and_plan(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["dag", str(SAMPLE), "-o", str(tmp_path / "dags")]) == 0
    dag_file, plan_file = (Path(p) for p in capsys.readouterr().out.split())
    assert dag_file.parent == plan_file.parent == tmp_path / "dags"
    assert dag_file.suffix == ".py" and plan_file.name.endswith(".plan.json")
    plan = json.loads(plan_file.read_text())
    assert dag_file.stem == plan["dag_id"] and plan["name"] == "blob_count"
    assert plan_file.name in dag_file.read_text()


def test_dag_of_a_single_tool(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["dag", str(CWL / "echo.cwl"), "-o", str(tmp_path)]) == 0
    plan_file = Path(capsys.readouterr().out.split()[1])
    assert [s["task_id"] for s in json.loads(plan_file.read_text())["steps"]] == ["echo"]


def test_dag_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["dag", str(INVALID / "bad_yaml.cwl"), "-o", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"saber: {INVALID / 'bad_yaml.cwl'}:6: expected ',' or '}}', but got ':'")
    assert list(tmp_path.iterdir()) == []


# -- saber run: bad input is one message, exit code 2, before Docker --------------------------

def one_message(err: str) -> str:
    """The single line saber printed (rich may add blank lines around its live table)."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.usefixtures("no_docker")
@pytest.mark.parametrize("text, line, message", [
    pytest.param("noise: [0.1]\ncolour: [red, blue]\n", 2,
                 "field 'colour': 'colour' is not a workflow input", id="unknown-input"),
    pytest.param("x:\n  values: [1, 2]\n  parameters: {abs: sigma}\n  steps: [nowhere]\n", 4,
                 "field 'x.steps': unknown step 'nowhere'", id="unknown-step"),
    pytest.param("noise:\n  range: {start: 0, stop: 1, step: 0}\n", 2,
                 "field 'noise.range.step': range step must not be 0", id="range-step-0"),
    pytest.param("n_blobs:\n  range: {start: 10, stop: 2, step: 1}\n", 2,
                 "field 'n_blobs.range': range start 10 is after stop 2", id="range-start-after-stop"),
    pytest.param("noise: [0.1, high]\n", 1, "field 'noise': ", id="wrong-type"),
])
def test_run_bad_sweep(capsys: pytest.CaptureFixture[str], write: Write, text: str, line: int,
                       message: str) -> None:
    sweep = write("sweep.yml", text)
    assert main(["run", str(SAMPLE), str(sweep)]) == 2
    # Only the start is fixed: the rest of some messages lists the workflow's names.
    assert one_message(capsys.readouterr().err).startswith(f"saber: {sweep}:{line}: {message}")


@pytest.mark.usefixtures("no_docker")
@pytest.mark.parametrize("workflow, file, line", [
    pytest.param(INVALID / "bad_yaml.cwl", INVALID / "bad_yaml.cwl", 6, id="invalid-yaml"),
    pytest.param(INVALID / "unknown_type.cwl", INVALID / "unknown_type.cwl", 6, id="schema-invalid"),
    pytest.param(INVALID / "missing_run.cwl", INVALID / "missing_run.cwl", 8, id="missing-run-file"),
])
def test_run_bad_workflow(capsys: pytest.CaptureFixture[str], workflow: Path, file: Path,
                          line: int) -> None:
    assert main(["run", str(workflow)]) == 2
    assert one_message(capsys.readouterr().err).startswith(f"saber: {file}:{line}: ")


@pytest.mark.usefixtures("no_docker")
@pytest.mark.parametrize("args, what", [
    pytest.param(["{missing}"], "no such CWL file", id="workflow"),
    pytest.param([str(SAMPLE), "{missing}"], "sweep file not found", id="sweep"),
    pytest.param([str(SAMPLE), "--job", "{missing}"], "job file not found", id="job"),
])
def test_run_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str],
                          what: str) -> None:
    missing = tmp_path / "nope.yml"
    assert main(["run", *(a.format(missing=missing) for a in args)]) == 2
    assert one_message(capsys.readouterr().err) == f"saber: {missing}: {what}"


@pytest.mark.usefixtures("no_docker")
@pytest.mark.parametrize("workflow, job, expected", [
    pytest.param(CWL / "features_wf.cwl", "flag: false\n",
                 "{job}: field 'n': required input 'n' (int) has no value", id="missing-required"),
    pytest.param(SAMPLE, "size: 48\nn_blobs: many\n",
                 "{job}:2: field 'n_blobs': expected int, got string 'many'", id="wrong-type"),
])
def test_run_bad_job(capsys: pytest.CaptureFixture[str], write: Write, workflow: Path, job: str,
                     expected: str) -> None:
    path = write("job.yml", job)
    assert main(["run", str(workflow), "--job", str(path)]) == 2
    assert one_message(capsys.readouterr().err).startswith("saber: " + expected.format(job=path))


@pytest.mark.usefixtures("no_docker")
def test_run_without_required_input_or_job(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(CWL / "features_wf.cwl")]) == 2
    assert one_message(capsys.readouterr().err) == (
        "saber: field 'n': required input 'n' (int) has no value; give it in a job file with --job")


def test_run_without_docker(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                            tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    assert main(["run", str(SAMPLE), "--outdir", str(tmp_path / "out")]) == 2
    message = one_message(capsys.readouterr().err)
    assert message.startswith("saber: No Docker engine answers")
    assert message.endswith(".") and not re.search(r"[.!?] +[A-Z]", message)  # one sentence
    assert not (tmp_path / "out").exists()


def test_progress_counts_steps_from_the_cache():
    from rich.console import Console

    from saber.backends._base import RunProgress
    from saber.cli._progress import progress_table

    runs = [RunProgress(run_id="a", state="success", tasks={"success": 3}, cached=2),
            RunProgress(run_id="b", state="running", tasks={"success": 1, "running": 1}, cached=1)]
    console = Console(width=100, record=True)
    console.print(progress_table(runs))
    lines = [[c for c in line.split() if c not in "│┃"] for line in console.export_text().splitlines()]
    header = next(cells for cells in lines if "done" in cells)
    steps = next(cells for cells in lines if cells[:1] == ["steps"])
    assert header[:2] == ["done", "cached"] and steps[1:3] == ["4", "3"]
