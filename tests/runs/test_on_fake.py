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
    from saber.plan import REF_PREFIX

    job = yaml_writer(tmp_path, "job.yml")("token: fake-secret-value\n")
    stored_while_running: list[dict] = []
    backend = FakeBackend(lambda plan, inputs: stored_while_running.append(dict(backend.secrets)) or FakeResult())
    run_sweep(RunSpec(workflow=DATA / "cwl" / "secret_env.cwl", job=job, outdir=tmp_path / "out"), backend=backend)
    [request] = backend.submitted.values()
    [stored] = stored_while_running
    assert [REF_PREFIX + key for key in stored] == [request.conf["token"]]
    assert list(stored.values()) == ["fake-secret-value"]
    assert "fake-secret-value" not in json.dumps(request.conf)
    assert "fake-secret-value" not in (tmp_path / "out" / "summary.json").read_text()
    # removed when the sweep ended, before the backend closed
    assert backend.forgotten == list(stored) and backend.secrets == {} and backend.closed


class _StoppedAfterRuns(FakeBackend):
    """Ctrl-C arrives after the batch's runs have finished but before the loop heard of it."""

    def wait(self, run_ids, *, on_progress=None):
        super().wait(run_ids, on_progress=on_progress)
        raise KeyboardInterrupt


def test_an_interrupt_keeps_the_trials_whose_runs_had_succeeded(tmp_path: Path, results_db: str) -> None:
    import optuna

    sweep = yaml_writer(tmp_path, "sweep.yml")("x: [0.2, 0.6]\nsampler: {method: grid}\n")
    with pytest.raises(KeyboardInterrupt):
        run_sweep(RunSpec(workflow=TOOL, sweep=sweep, outdir=tmp_path / "out", sweep_id="kept"),
                  backend=_StoppedAfterRuns(quadratic))
    trials = optuna.load_study(study_name="kept", storage=results_db).trials
    assert [(t.state.name, t.value) for t in trials] == [("COMPLETE", pytest.approx(0.84)), ("COMPLETE", 1.0)]


def test_a_resume_adopts_what_a_dead_loop_left_running(tmp_path: Path, results_db: str) -> None:
    import optuna

    study = optuna.create_study(study_name="stale", storage=results_db, direction="maximize")
    for x in (0.6, 0.9):  # a SIGKILLed loop: trial 0's run had succeeded, trial 1's was still going
        study.ask().set_user_attr("saber_params", {"x": x})
    backend = FakeBackend(quadratic)
    backend.states = {"stale_t0000": "success", "stale_t0001": "running"}
    backend.results = {"stale_t0000": FakeResult(scores={"quadratic": 1.0})}
    sweep = yaml_writer(tmp_path, "sweep.yml")("x: [0.6, 0.9]\nsampler: {method: grid}\n")
    summary = run_sweep(RunSpec(workflow=TOOL, sweep=sweep, outdir=tmp_path / "out", sweep_id="stale"),
                        backend=backend)
    assert backend.cancelled == ["stale_t0001"]  # stopped: it must not finish behind the study's back
    assert [(p.index, p.params, p.state) for p in summary.points] == [
        (0, {"x": 0.6}, "success"), (2, {"x": 0.9}, "success")]
    states = [t.state.name for t in optuna.load_study(study_name="stale", storage=results_db).trials]
    assert states == ["COMPLETE", "FAIL", "COMPLETE"] and summary.ok


def test_a_sweep_run_again_under_its_name_keeps_what_succeeded(tmp_path: Path) -> None:
    sweep = yaml_writer(tmp_path, "sweep.yml")("message: [a, b, c]\n")
    backend = FakeBackend(lambda plan, inputs: FakeResult(outputs={"text": inputs["message"]}))
    # An earlier call: point 0 succeeded, point 1 failed (and once more as -2), point 2's run was
    # still going when its driver died.
    backend.states = {"again_p0000": "success", "again_p0001": "failed", "again_p0001-2": "failed",
                      "again_p0002": "running"}
    backend.results = {"again_p0000": FakeResult(outputs={"text": "a"})}
    summary = run_sweep(RunSpec(workflow=DATA / "cwl" / "echo.cwl", sweep=sweep, outdir=tmp_path / "out",
                                sweep_id="again"), backend=backend)
    assert [(p.run_id, p.state) for p in summary.points] == [
        ("again_p0000", "success"), ("again_p0001-3", "success"), ("again_p0002-2", "success")]
    assert sorted(backend.submitted) == ["again_p0001-3", "again_p0002-2"]
    assert backend.cancelled == ["again_p0002"] and summary.ok
    assert [p.outputs["text"] for p in summary.points] == ["a", "b", "c"]
def two_scores(plan: dict, inputs: dict) -> FakeResult:
    x = float(inputs["x"])
    return FakeResult(scores={"first": x, "second": 1 - x})


@pytest.mark.parametrize("sweep_text", [
    pytest.param("x: [0.2, 0.6]\nsampler: {method: grid}\n", id="grid"),
    pytest.param("x: [0.2, 0.6]\nsampler: {method: random, max_iterations: 2}\n", id="random"),
    pytest.param(None, id="no-sweep"),
])
def test_several_scored_steps_run_without_an_objective(tmp_path: Path, sweep_text: str | None) -> None:
    sweep = yaml_writer(tmp_path, "sweep.yml")(sweep_text) if sweep_text else None
    job = yaml_writer(tmp_path, "job.yml")("x: 0.2\n")
    backend = FakeBackend(two_scores)
    summary = run_sweep(RunSpec(workflow=DATA / "cwl" / "two_scores_wf.cwl", sweep=sweep, job=job,
                                outdir=tmp_path / "out", sweep_id="two"), backend=backend)
    assert summary.ok and summary.study["objective"] == ["first", "second"] and summary.study["best"] is None
    by_x = {p.params.get("x", 0.2): p.score for p in summary.points}
    assert by_x[0.2] == pytest.approx([0.2, 0.8])  # every scored step's score, in plan order
    assert any(": scores: first 0.2, second 0.8\n" in note for note in backend.notes.values())
    written = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [0.2, 0.8] in [p["score"] for p in written["points"]]


def test_job_keys_that_are_no_input_are_dropped_with_one_warning(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    job = yaml_writer(tmp_path, "job.yml")("x: 0.5\n_saber_bucket: b\n")
    sweep = yaml_writer(tmp_path, "sweep.yml")("x: [0.2, 0.6]\nsampler: {method: grid}\n")
    backend = FakeBackend(quadratic)
    summary = run_sweep(RunSpec(workflow=TOOL, sweep=sweep, job=job, outdir=tmp_path / "out"), backend=backend)
    assert summary.ok
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [f"{job}:2: ignoring job key '_saber_bucket', which is no input of workflow quadratic "
                        "(inputs: fail_above, x), as cwltool does"]
    assert all("_saber_bucket" not in json.dumps(r.conf) for r in backend.submitted.values())


@pytest.mark.parametrize("ending", [
    pytest.param(dict(behave=lambda plan, inputs: FakeResult(state="failed", error="boom")), id="failed"),
    pytest.param(dict(behave=lambda plan, inputs: FakeResult(), interrupt_after=0), id="interrupted"),
])
def test_secrets_are_removed_however_the_sweep_ends(tmp_path: Path, ending: dict) -> None:
    job = yaml_writer(tmp_path, "job.yml")("token: fake-secret-value\n")
    kwargs = dict(ending)
    backend = FakeBackend(kwargs.pop("behave"), **kwargs)
    try:
        run_sweep(RunSpec(workflow=DATA / "cwl" / "secret_env.cwl", job=job, outdir=tmp_path / "out"),
                  backend=backend)
    except KeyboardInterrupt:
        assert backend.cancelled
    assert len(backend.forgotten) == 1 and backend.secrets == {} and backend.closed


def test_concurrent_sweeps_with_one_token_keep_their_own_variables(tmp_path: Path) -> None:
    """The first to end must not take the Variable the other still reads."""
    job = yaml_writer(tmp_path, "job.yml")("token: fake-secret-value\n")
    spec = RunSpec(workflow=DATA / "cwl" / "secret_env.cwl", job=job, outdir=tmp_path / "out")
    first, second = FakeBackend(lambda plan, inputs: FakeResult()), FakeBackend(lambda plan, inputs: FakeResult())
    run_sweep(spec, backend=first)
    run_sweep(spec, backend=second)
    [a], [b] = first.forgotten, second.forgotten
    assert a != b
    [ra], [rb] = ([r.conf["token"] for r in x.submitted.values()] for x in (first, second))
    assert ra.endswith(a) and rb.endswith(b)


def test_cwl_runner_removes_its_secret_when_its_run_ends(tmp_path: Path) -> None:
    from saber.runs import run_cwl

    job = yaml_writer(tmp_path, "job.yml")("token: fake-secret-value\n")
    stored_while_running: list[dict] = []
    backend = FakeBackend(lambda plan, inputs: stored_while_running.append(dict(backend.secrets)) or FakeResult())
    run_cwl(str(DATA / "cwl" / "secret_env.cwl"), str(job), outdir=tmp_path / "out", backend=backend)
    [stored] = stored_while_running
    assert list(stored.values()) == ["fake-secret-value"]
    assert backend.forgotten == list(stored) and backend.secrets == {} and backend.closed


# -- plain sweeps in the results store -------------------------------------------------------------


def echo(plan: dict, inputs: dict) -> FakeResult:
    if inputs["message"] == "bad":
        return FakeResult(state="failed", error="no bad words")
    return FakeResult(outputs={"text": inputs["message"]})


def stored(results_db: str, name: str) -> list:
    from saber.scores import ResultsStore

    with ResultsStore(results_db) as store:
        return store.study_report(name).trials


def test_a_plain_sweep_is_recorded_point_by_point(tmp_path: Path, results_db: str) -> None:
    from saber.scores import ResultsStore

    sweep = yaml_writer(tmp_path, "sweep.yml")("message: [a, bad, c]\n")
    run_sweep(RunSpec(workflow=DATA / "cwl" / "echo.cwl", sweep=sweep, outdir=tmp_path / "out", sweep_id="plain"),
              backend=FakeBackend(echo))
    trials = stored(results_db, "plain")
    assert [(t.params, t.state, t.run_id, t.score) for t in trials] == [
        ({"message": "a"}, "COMPLETE", "plain_p0000", None), ({"message": "bad"}, "FAIL", "plain_p0001", None),
        ({"message": "c"}, "COMPLETE", "plain_p0002", None)]
    assert trials[1].error == "step 'echo' failed: no bad words" and trials[0].container_s == 0.1
    with ResultsStore(results_db) as store:
        (row,) = store.list_studies()
        report = store.study_report("plain")
    assert (row.kind, row.direction, row.best_value, row.method) == ("sweep", "", None, "grid")
    assert (report.best, report.direction, report.n_objectives) == (None, "", 0)


def test_points_are_recorded_as_their_runs_are_seen(results_db: str) -> None:
    """Running when a run is reported running, ended when reported ended: not at its batch's end."""
    from types import SimpleNamespace

    from saber.backends import RunOutcome, RunProgress
    from saber.runs._record import SweepRecord
    from saber.scores import ResultsStore

    prepared = [(SimpleNamespace(index=i, params={"message": m}), SimpleNamespace(run_id=f"w_p000{i}"))
                for i, m in enumerate("ab")]
    backend = SimpleNamespace(outcome=lambda run_id: RunOutcome(run_id=run_id, state="success", wall_s=2.0))
    shown: list = []
    with ResultsStore(results_db) as store:
        show = SweepRecord(store, "w", {}).watching(backend, prepared, shown.append)
        show([RunProgress(run_id="w_p0000", state="running"), RunProgress(run_id="w_p0001", state="queued")])
        assert [(t.state, t.run_id) for t in stored(results_db, "w")] == [("RUNNING", "w_p0000")]
        show([RunProgress(run_id="w_p0000", state="success"), RunProgress(run_id="w_p0001", state="running")])
        assert [(t.state, t.duration_s) for t in stored(results_db, "w")] == [("COMPLETE", 2.0), ("RUNNING", None)]
    assert len(shown) == 2


def test_an_interrupted_plain_sweep_keeps_what_ran_and_resumes(tmp_path: Path, results_db: str) -> None:
    sweep = yaml_writer(tmp_path, "sweep.yml")("message: [a, b]\nsampler: {method: grid, batch_size: 1}\n")
    backend = FakeBackend(echo, interrupt_after=1)  # the second batch's wait is interrupted
    with pytest.raises(KeyboardInterrupt):
        run_sweep(RunSpec(workflow=DATA / "cwl" / "echo.cwl", sweep=sweep, outdir=tmp_path / "out",
                          sweep_id="cut"), backend=backend)
    trials = stored(results_db, "cut")
    assert [(t.params, t.state) for t in trials] == [({"message": "a"}, "COMPLETE")]
    backend.interrupt_after = None
    backend.states["cut_p0001"] = "failed"  # what the cancel left behind
    run_sweep(RunSpec(workflow=DATA / "cwl" / "echo.cwl", sweep=sweep, outdir=tmp_path / "out", sweep_id="cut"),
              backend=backend)
    trials = stored(results_db, "cut")
    assert [(t.params, t.state, t.run_id) for t in trials] == [
        ({"message": "a"}, "COMPLETE", "cut_p0000"), ({"message": "b"}, "COMPLETE", "cut_p0001-2")]


def test_a_running_point_left_by_a_dead_driver_is_taken_over(tmp_path: Path, results_db: str) -> None:
    from saber.runs._record import SweepRecord
    from saber.scores import ResultsStore

    sweep = yaml_writer(tmp_path, "sweep.yml")("message: [a]\n")
    with ResultsStore(results_db) as store:
        SweepRecord(store, "dead", {}).started(0, {"message": "a"}, "dead_p0000")
    backend = FakeBackend(echo)
    backend.states = {"dead_p0000": "running"}
    run_sweep(RunSpec(workflow=DATA / "cwl" / "echo.cwl", sweep=sweep, outdir=tmp_path / "out", sweep_id="dead"),
              backend=backend)
    assert [(t.state, t.run_id) for t in stored(results_db, "dead")] == [("COMPLETE", "dead_p0000-2")]


def test_a_plain_sweep_and_a_study_never_share_a_name(tmp_path: Path) -> None:
    from saber.errors import InputError

    plain = yaml_writer(tmp_path, "plain.yml")("message: [a]\n")
    scored = yaml_writer(tmp_path, "scored.yml")("x: [0.2]\nsampler: {method: grid}\n")
    run_sweep(RunSpec(workflow=DATA / "cwl" / "echo.cwl", sweep=plain, outdir=tmp_path / "o1", sweep_id="p"),
              backend=FakeBackend(echo))
    with pytest.raises(InputError, match="'p' is a plain sweep"):
        run_sweep(RunSpec(workflow=TOOL, sweep=scored, outdir=tmp_path / "o2", sweep_id="p"),
                  backend=FakeBackend(quadratic))
    run_sweep(RunSpec(workflow=TOOL, sweep=scored, outdir=tmp_path / "o3", sweep_id="s"),
              backend=FakeBackend(quadratic))
    with pytest.raises(InputError, match="'s' is a scored study"):
        run_sweep(RunSpec(workflow=DATA / "cwl" / "echo.cwl", sweep=plain, outdir=tmp_path / "o4", sweep_id="s"),
                  backend=FakeBackend(echo))


def test_a_single_run_is_not_recorded(tmp_path: Path, results_db: str) -> None:
    from saber.scores import ResultsStore

    job = yaml_writer(tmp_path, "job.yml")("message: a\n")
    run_sweep(RunSpec(workflow=DATA / "cwl" / "echo.cwl", job=job, outdir=tmp_path / "out"), backend=FakeBackend(echo))
    with ResultsStore(results_db) as store:
        assert store.list_studies() == []
