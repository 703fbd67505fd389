"""The use cases (saber.runs) on the in-memory backend: what they ask of a backend, in order,
and what they make of its answers, with no Airflow and no Docker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from saber_testing import DATA, yaml_writer

from saber.backends.testing import FakeBackend, FakeResult
from saber.runs import RunSpec, run_sweep

TOOL = DATA / "cwl" / "quadratic.cwl"


def quadratic(plan: dict, inputs: dict) -> FakeResult:
    x, limit = float(inputs["x"]), float(inputs.get("fail_above", 2.0))
    if x > limit:
        return FakeResult(state="failed", error="x above fail_above")
    return FakeResult(scores={"quadratic": 1 - (x - 0.6) ** 2})


@pytest.fixture(autouse=True)
def results_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'results.db'}"
    monkeypatch.setenv("SABER_DB", url)
    return url


def test_a_study_runs_its_rounds_and_notes_every_trial(tmp_path: Path) -> None:
    sweep = yaml_writer(tmp_path, "sweep.yml")("x: [0.2, 0.6, 0.9]\nsampler: {method: grid, batch_size: 2}\n")
    backend = FakeBackend(quadratic)
    summary = run_sweep(RunSpec(workflow=TOOL, sweep=sweep, outdir=tmp_path / "out", sweep_id="fake-grid"),
                        backend=backend)
    assert backend.started and backend.closed and backend.plan["dag_id"] == summary.dag_id
    assert sorted(p.params["x"] for p in summary.points) == [0.2, 0.6, 0.9]
    assert summary.study["best"]["params"] == {"x": 0.6} and summary.study["best"]["value"] == 1.0
    assert sorted(backend.notes) == [f"fake-grid_t{i:04d}" for i in range(3)]
    assert "trial 1: quadratic score 1" in backend.notes["fake-grid_t0001"]
    written = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert written["study"]["name"] == "fake-grid" and len(written["points"]) == 3


def test_a_failed_trial_shows_its_step_sentence(tmp_path: Path) -> None:
    sweep = yaml_writer(tmp_path, "sweep.yml")("x: [0.5, 0.9]\nsampler: {method: grid}\n")
    job = yaml_writer(tmp_path, "job.yml")("fail_above: 0.7\n")
    summary = run_sweep(RunSpec(workflow=TOOL, sweep=sweep, job=job, outdir=tmp_path / "out"),
                        backend=FakeBackend(quadratic))
    failed = [p for p in summary.points if p.params["x"] == 0.9]
    assert failed[0].error == "step 'quadratic' failed: x above fail_above"
    assert not summary.ok


def test_an_interrupt_cancels_the_batch_and_closes(tmp_path: Path) -> None:
    sweep = yaml_writer(tmp_path, "sweep.yml")("x: [0.2, 0.6]\nsampler: {method: grid}\n")
    backend = FakeBackend(quadratic, interrupt_after=0)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(RunSpec(workflow=TOOL, sweep=sweep, outdir=tmp_path / "out", sweep_id="stop"), backend=backend)
    assert sorted(backend.cancelled) == ["stop_t0000", "stop_t0001"] and backend.closed


def test_secrets_go_to_the_backend_and_the_conf_holds_references(tmp_path: Path) -> None:
    from saber.execution._secrets import variable_key
    from saber.plan import REF_PREFIX

    job = yaml_writer(tmp_path, "job.yml")("token: fake-secret-value\n")
    backend = FakeBackend(lambda plan, inputs: FakeResult())
    run_sweep(RunSpec(workflow=DATA / "cwl" / "secret_env.cwl", job=job, outdir=tmp_path / "out"), backend=backend)
    assert backend.secrets == {variable_key("fake-secret-value"): "fake-secret-value"}
    [request] = backend.submitted.values()
    assert request.conf["token"] == REF_PREFIX + variable_key("fake-secret-value")
    assert "fake-secret-value" not in json.dumps(request.conf)
    assert "fake-secret-value" not in (tmp_path / "out" / "summary.json").read_text()
