"""Studies end to end: `saber run` on a scored tool, real Airflow runs, real containers, a real
results database (SQLite here, PostgreSQL in the last test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from saber_testing import DATA, needs_docker, run_saber, yaml_writer

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow]
TOOL = str(DATA / "cwl" / "quadratic.cwl")


def _summary(outdir: Path) -> dict:
    return json.loads((outdir / "summary.json").read_text())


def _results(name: str, env: dict | None = None) -> dict:
    shown = run_saber("results", name, "--format", "json", env=env)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def _run(dag_id: str, run_id: str):
    from airflow import settings
    from airflow.models.dagrun import DagRun

    session = settings.Session()
    try:
        dr = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
        return dr.note, dr.conf
    finally:
        session.close()


def test_tpe_study_in_rounds_with_scores_in_airflow(saber_home, tmp_path):
    sweep = yaml_writer(tmp_path, "sweep.yml")("""
        x: {uniform: {low: 0.0, high: 1.0}}
        sampler: {method: tpe, max_iterations: 4, batch_size: 2, seed: 3}
    """)
    result = run_saber("run", TOOL, str(sweep), "--study", "it-tpe", "--outdir", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "study it-tpe (tpe, maximize quadratic, 4 trials)" in " ".join(result.stderr.split())
    summary = _summary(tmp_path / "out")
    scores = {p["index"]: p["score"] for p in summary["points"]}
    assert sorted(scores) == [0, 1, 2, 3]
    for p in summary["points"]:
        assert p["score"] == pytest.approx(1 - (p["params"]["x"] - 0.6) ** 2, abs=1e-5)
    report = _results("it-tpe")
    assert report["best"]["score"] == max(scores.values()) == summary["study"]["best"]["value"]
    assert [t["state"] for t in report["trials"]] == ["COMPLETE"] * 4
    assert all(t["duration_s"] > 0 and t["container_s"] > 0 for t in report["trials"])
    # the Airflow UI side: the run's conf names the trial, its note carries the score
    first = summary["points"][0]
    note, conf = _run(summary["dag_id"], first["dag_run_id"])
    assert conf["__saber"]["study"] == "it-tpe" and conf["__saber"]["trial"] == 0
    assert f"trial 0: quadratic score {first['score']:.6g}" in note


def test_resume_runs_failed_trials_again(saber_home, tmp_path):
    write = yaml_writer(tmp_path, "sweep.yml")
    sweep = write("x: [0.2, 0.6, 0.9]\nsampler: {method: grid}\n")
    failing = yaml_writer(tmp_path, "fail.yml")("fail_above: 0.7\n")
    first = run_saber("run", TOOL, str(sweep), "--job", str(failing), "--study", "it-resume",
                      "--outdir", str(tmp_path / "a"))
    assert first.returncode == 1, first.stderr
    states = {t["params"]["x"]: t["state"] for t in _results("it-resume")["trials"]}
    assert states == {0.2: "COMPLETE", 0.6: "COMPLETE", 0.9: "FAIL"}
    again = run_saber("run", TOOL, str(sweep), "--study", "it-resume", "--outdir", str(tmp_path / "b"))
    assert again.returncode == 0, again.stderr
    assert [p["params"] for p in _summary(tmp_path / "b")["points"]] == [{"x": 0.9}]
    report = _results("it-resume")
    assert [(t["params"]["x"], t["state"]) for t in report["trials"]] == [
        (0.2, "COMPLETE"), (0.6, "COMPLETE"), (0.9, "FAIL"), (0.9, "COMPLETE")]
    assert report["best"]["params"] == {"x": 0.6}
    # and once everything is done, running again does nothing and says so cleanly
    done = run_saber("run", TOOL, str(sweep), "--study", "it-resume", "--outdir", str(tmp_path / "c"))
    assert done.returncode == 0 and _summary(tmp_path / "c")["points"] == []


def test_objective_without_score_format_is_bad_input(saber_home, tmp_path):
    sweep = yaml_writer(tmp_path, "sweep.yml")("""
        message: [a, b]
        sampler:
          method: tpe
          max_iterations: 3
    """)
    result = run_saber("run", str(DATA / "cwl" / "echo.cwl"), str(sweep))
    assert result.returncode == 2
    assert f"{sweep}:2: field 'sampler': the tpe method learns from scores" in " ".join(result.stderr.split())


@pytest.mark.postgres
def test_study_on_postgres(saber_home, tmp_path, postgres_url):
    from pg_server import create_database

    from saber.scores import ResultsStore

    db = create_database(postgres_url)
    sweep = yaml_writer(tmp_path, "sweep.yml")("x: [0.5, 0.6]\nsampler: {method: grid}\n")
    result = run_saber("run", TOOL, str(sweep), "--study", "it-pg", "--outdir", str(tmp_path / "out"),
                       env={"SABER_DB": db})
    assert result.returncode == 0, result.stderr
    report = _results("it-pg", env={"SABER_DB": db})
    assert report["best"] == {"number": 1, "params": {"x": 0.6}, "score": 1.0}
    with ResultsStore(db) as store:
        assert [(s.task_id, s.score) for s in store.scores("it-pg")] == [("quadratic", 0.99), ("quadratic", 1.0)]
