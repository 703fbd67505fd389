"""End to end: the real command line, real Airflow runs, real Docker containers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from saber_testing import DATA, HOME, ROOT, needs_docker, run_saber

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow]
CWL = DATA / "cwl"


def _summary(outdir: Path) -> dict:
    return json.loads((outdir / "summary.json").read_text())


def _log(dag_id: str, run_id: str, task_id: str, map_index: int | None = None) -> str:
    folder = HOME.airflow_home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
    if map_index is not None:
        folder = folder / f"map_index={map_index}"
    return (folder / "attempt=1.log").read_text()


def _task_states(dag_id: str, run_id: str) -> dict[tuple[str, int], str]:
    from airflow import settings
    from airflow.models.taskinstance import TaskInstance

    session = settings.Session()
    try:
        rows = session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id).all()
        return {(ti.task_id, ti.map_index): str(ti.state) for ti in rows}
    finally:
        session.close()


def test_sample_sweep(saber_home, tmp_path):
    out = tmp_path / "out"
    result = run_saber("run", "workflows/blob_count.cwl", "sweeps/blob_count.yml", "--outdir", str(out))
    assert result.returncode == 0, result.stderr
    summary = _summary(out)
    assert [p["params"] for p in summary["points"]] == [
        {"noise": 0.05, "n_blobs": 8}, {"noise": 0.05, "n_blobs": 16},
        {"noise": 0.6, "n_blobs": 8}, {"noise": 0.6, "n_blobs": 16}]
    for point in summary["points"]:
        assert point["state"] == "success"
        outputs = point["outputs"]
        assert len(outputs["counts"]) == 3 and all(isinstance(c, int) for c in outputs["counts"])
        report = Path(outputs["report"]["path"])
        assert report.is_file() and str(report).startswith(str(out))
        assert json.loads(report.read_text())["best_f1"] == pytest.approx(outputs["best_f1"], abs=1e-4)
    low_noise = summary["points"][0]["outputs"]
    assert low_noise["best_f1"] >= 0.9 and low_noise["counts"][0] == 8
    # One DAG, one DAG run per point, each scattered step mapped per threshold.
    run_id = summary["points"][0]["dag_run_id"]
    states = _task_states(summary["dag_id"], run_id)
    assert states[("threshold", 2)] == "success" and states[("label", 0)] == "success"
    assert "F1:" in _log(summary["dag_id"], run_id, "evaluate")
    # piped: the result on stdout, progress on stderr; no colour, no line folded at 80 columns
    assert f"outputs and summary.json: {out}" in result.stdout and "spent" not in result.stdout
    last = [line for line in result.stderr.splitlines() if line.startswith("trials ")][-1]
    assert re.fullmatch(r"trials 4 of 4 \(100%\), best [0-9.e-]+ \(#\d\), \d+s spent; runs 4 done, 0 running, .*", last), last
    assert "outputs and" not in result.stderr
    assert "blob_count: 4 steps, study " in result.stderr
    assert "\x1b[" not in result.stdout + result.stderr
    [row] = [line for line in result.stdout.splitlines() if '{"noise": 0.6, "n_blobs": 16}' in line]
    assert "success" in row and '"best_f1": ' in row and len(row) > 80, result.stdout


def test_scatter_valuefrom_single_point(saber_home, tmp_path):
    job = tmp_path / "job.yml"
    job.write_text("messages: [x, y]\nsuffix: '?'\n")
    result = run_saber("run", str(CWL / "scatter_wf.cwl"), "--job", str(job), "--outdir", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr
    point = _summary(tmp_path / "o")["points"][0]
    assert point["outputs"]["texts"] == ["x? x 1", "y? x 1"]
    assert Path(point["outputs"]["joined"]["path"]).read_text() == "x? x 1\ny? x 1\n"


def test_failing_tool_reports_exit_code_and_stderr(saber_home, tmp_path):
    result = run_saber("run", str(CWL / "fail.cwl"), "--outdir", str(tmp_path / "o"))
    assert result.returncode == 1
    summary = _summary(tmp_path / "o")
    point = summary["points"][0]
    assert point["state"] == "failed" and point["outputs"] is None
    log = _log(summary["dag_id"], point["dag_run_id"], "fail")
    assert "exit code 3" in log and "boom: bad voxel" in log


def test_when_false_skips_and_gives_null(saber_home, tmp_path):
    result = run_saber("run", str(CWL / "when_wf.cwl"), "--outdir", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr
    summary = _summary(tmp_path / "o")
    point = summary["points"][0]
    assert point["outputs"] == {"text": None, "always_text": "hi x 1"}
    states = _task_states(summary["dag_id"], point["dag_run_id"])
    assert states[("maybe", -1)] == "skipped" and states[("always", -1)] == "success"


def test_subworkflow_runs_as_task_group(saber_home, tmp_path):
    result = run_saber("run", str(CWL / "sub_echo_wf.cwl"), "--outdir", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr
    summary = _summary(tmp_path / "o")
    point = summary["points"][0]
    assert point["outputs"]["said"] == "neuron-x x 1"
    assert Path(point["outputs"]["joined"]["path"]).read_text() == "neuron-x x 1\n" * 2
    states = _task_states(summary["dag_id"], point["dag_run_id"])
    assert states[("twice.say", -1)] == "success" and states[("twice.join", -1)] == "success"


def test_saber_dag_file_is_self_contained(saber_home, tmp_path):
    result = run_saber("dag", "workflows/blob_count.cwl", "-o", str(tmp_path / "dags"))
    assert result.returncode == 0, result.stderr
    files = sorted(p.name for p in (tmp_path / "dags").iterdir())
    assert len(files) == 2 and files[0].endswith(".plan.json") and files[1].endswith(".py")
    plan = json.loads(next((tmp_path / "dags").glob("*.plan.json")).read_text())
    assert all("tool" in s and s["tool"]["class"] == "CommandLineTool" for s in plan["steps"])
    assert str(ROOT) in plan["source"]


def test_pool_slots_limit_concurrency(saber_home, tmp_path):
    """Two 2-core steps on 2 worker slots run one after the other; a 4-core step still runs."""
    result = run_saber("run", str(CWL / "two_wide.cwl"), "--outdir", str(tmp_path / "o"), "--workers", "2")
    assert result.returncode == 0, result.stderr
    summary = _summary(tmp_path / "o")
    from airflow import settings
    from airflow.models.taskinstance import TaskInstance

    session = settings.Session()
    try:
        tis = {ti.task_id: ti for ti in session.query(TaskInstance).filter_by(
            dag_id=summary["dag_id"], run_id=summary["points"][0]["dag_run_id"])}
    finally:
        session.close()
    assert {t: str(ti.state) for t, ti in tis.items()} == {"left": "success", "right": "success", "big": "success"}
    assert tis["left"].pool_slots == 2 and tis["big"].pool_slots == 4
    spans = sorted((tis[t].start_date, tis[t].end_date) for t in ("left", "right", "big"))
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert end <= start, "steps holding all slots overlapped"


def test_saber_form_sweep_sets_step_inputs(saber_home, tmp_path):
    """SABER's format: labels whose values go to (even unconnected) inputs of the named steps."""
    result = run_saber("run", "workflows/blob_count.cwl", "sweeps/blob_count_saber.yml",
                       "--job", "workflows/blob_count.job.yml", "--outdir", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr
    summary = _summary(tmp_path / "o")
    by_params = {(p["params"]["min_size"], p["params"]["smoothing"]): p for p in summary["points"]}
    assert sorted(by_params) == [(2, 0.5), (2, 1.5), (7, 0.5), (7, 1.5)]
    for smoothing in (0.5, 1.5):
        small, large = by_params[(2, smoothing)], by_params[(7, smoothing)]
        # Dropping more small components can only lower each threshold's count.
        assert all(b <= a for a, b in zip(small["outputs"]["counts"], large["outputs"]["counts"]))
        log = _log(summary["dag_id"], large["dag_run_id"], "label", map_index=0)
        assert re.search(r"--min-size(?:\s|\\\\|\\n)*7\b", log), "label did not get --min-size 7"
    assert by_params[(2, 0.5)]["outputs"]["counts"] != by_params[(2, 1.5)]["outputs"]["counts"]


def test_a_sweep_id_given_again_resumes_the_sweep(saber_home, tmp_path):
    first = run_saber("run", str(CWL / "when_wf.cwl"), "--sweep-id", "again", "--outdir", str(tmp_path / "a"))
    assert first.returncode == 0, first.stderr
    second = run_saber("run", str(CWL / "when_wf.cwl"), "--sweep-id", "again", "--outdir", str(tmp_path / "b"))
    assert second.returncode == 0, second.stderr
    before, after = (json.loads((tmp_path / d / "summary.json").read_text())["points"] for d in "ab")
    # nothing ran again: the finished run and its outputs are kept
    assert [p["dag_run_id"] for p in after] == [p["dag_run_id"] for p in before] == ["again_p0000"]
    assert after[0]["outputs"].keys() == before[0]["outputs"].keys()


def test_a_plain_sweep_is_recorded_in_the_results(saber_home, tmp_path):
    """No scored step: the sweep is still in the results store, each point with its run."""
    sweep = tmp_path / "sweep.yml"
    sweep.write_text("message: [hello, world]\n")
    result = run_saber("run", str(CWL / "echo.cwl"), str(sweep), "--outdir", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    summary = _summary(tmp_path / "out")
    listed = run_saber("results", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    (row,) = [s for s in json.loads(listed.stdout)["studies"] if s["name"] == summary["sweep_id"]]
    assert (row["kind"], row["best"], row["trials"], row["complete"]) == ("sweep", None, 2, 2)
    shown = run_saber("results", summary["sweep_id"], "--format", "json")
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["best"] is None
    # in the order their runs were seen running
    assert sorted((t["run_id"], t["params"], t["state"]) for t in report["trials"]) == sorted(
        (p["dag_run_id"], p["params"], "COMPLETE") for p in summary["points"])
    assert all(t["container_s"] > 0 and t["duration_s"] > 0 for t in report["trials"])
