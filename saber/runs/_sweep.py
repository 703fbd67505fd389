"""`saber run`: a workflow and a sweep in, one real Airflow DAG run per sweep point out."""

from __future__ import annotations

import json
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saber._phases import mark
from saber.backends import Backend, RunProgress, RunRequest, RunState
from saber.errors import InputError
from saber.runs._batch import close_backend, run_batch
from saber.runs._boot import boot
from saber.runs._points import BATCH, Points
from saber.runs._uploads import input_uploader

if TYPE_CHECKING:
    from saber.runs._record import SweepRecord

__all__ = ["RunSpec", "PointResult", "Summary", "check_files", "compile_workflow", "prepare_points", "run_sweep"]


@dataclass(frozen=True)
class RunSpec:
    workflow: Path
    sweep: Path | None = None
    job: Path | None = None
    outdir: Path | None = None
    sweep_id: str | None = None  # the study's name (--study); None: a fresh one
    workers: int | None = None
    cache: bool = True  # steps reuse the step cache's outputs (saber run --no-cache: off)
    retries: int | None = None  # --retries: tries again of any failed step without its own hint
    retry_delay: float | None = None  # --retry-delay, seconds
    storage: str | None = None  # run data on S3 (--storage s3://BUCKET/PREFIX); None: the local folder
    download: bool = True  # final outputs on S3 come to the outdir (--no-download: their s3:// locations)
    notify: tuple[str, ...] = ()  # webhook URLs told when the run ends (--notify, $SABER_NOTIFY); the sweep file's too
    ui: str | None = None  # the Airflow UI's URL, for the study's link in a notification


@dataclass
class PointResult:
    index: int
    params: dict
    run_id: str
    state: str
    outputs: dict | None = None
    score: float | list[float] | None = None  # the objective's score (one per objective if several)
    error: str | None = None  # why a trial failed (its run, or a score that never matched)
    cached: tuple[str, ...] = ()  # steps whose outputs came from the step cache


@dataclass
class Summary:
    workflow: str
    dag_id: str
    sweep_id: str
    outdir: Path
    points: list[PointResult]
    seconds: float
    study: dict | None = None  # name, direction, objective, method, best, stopped_by (scored workflows)

    @property
    def ok(self) -> bool:
        return all(p.state == "success" and p.error is None for p in self.points)

    def to_json(self) -> dict:
        return {
            "workflow": self.workflow,
            "dag_id": self.dag_id,
            "sweep_id": self.sweep_id,
            "seconds": round(self.seconds, 3),
            "study": self.study,
            "points": [{"index": p.index, "params": p.params, "state": p.state, "dag_run_id": p.run_id,
                        "score": p.score, "error": p.error, "cached_steps": list(p.cached), "outputs": p.outputs}
                       for p in self.points],
        }


def check_files(spec: RunSpec) -> None:
    """What needs no workflow, checked here before cwltool and Airflow load (seconds): the sweep
    file's shape and size, and that the job file is YAML."""
    from saber._yaml import read_yaml
    from saber.sweep import load_sweep

    if spec.sweep:
        load_sweep(spec.sweep)
    if spec.job:
        read_yaml(spec.job, "job file")


def compile_workflow(path: Path) -> dict:
    from saber.cwl import build_plan, load_process

    return build_plan(load_process(path), path=path)


def prepare_points(plan: dict, spec: RunSpec, sweep_id: str, *, scope: str | None = None,
                   check: bool = True) -> Points:
    """Validate the job and sweep against the plan; the points, each with its RunRequest (DAG
    run), made as they are iterated. ``scope``: the invocation's secret Variables
    (``saber.execution._secrets``; default the sweep id). ``check``: make the requests of the
    first points now (see Points.check), so bad input is found before anything runs."""
    from saber.sweep import search_space

    sweep, target = _sweep_and_target(plan, spec)
    space = search_space(sweep, target)

    def make():
        cells = space.cells(random_order=sweep.method == "random", limit=sweep.max_iterations, seed=sweep.seed)
        return (space.point_at(i, cell) for i, cell in enumerate(cells))

    total = space.grid_size
    count = 0 if total is None else min(total, sweep.max_iterations or total)
    points = Points(count=count, make=make, request=_requester(plan, spec, sweep_id, scope or sweep_id),
                    sweep_id=sweep_id)
    if check:
        make()  # a space with no grid (a continuous one) says so here
        points.check()
    return points


def _sweep_and_target(plan: dict, spec: RunSpec):
    from saber.sweep import Sweep, SweepTarget, load_sweep

    target = SweepTarget(
        workflow_inputs={i["id"]: i["type"] for i in plan["inputs"]},
        step_inputs={s["task_id"]: {i["id"]: i.get("type") for i in s["in"]} for s in plan["steps"]})
    return (load_sweep(spec.sweep) if spec.sweep else Sweep(file="(no sweep)")), target


def _requester(plan: dict, spec: RunSpec, sweep_id: str, scope: str) -> Callable[[Any, str, dict], RunRequest]:
    """A function making the DAG run request of one point: its job order checked, its conf."""
    from saber.cwl._job import check_inputs, job_floats, load_job
    from saber.execution._secrets import conceal_inputs
    from saber.plan import run_conf, wire_safe

    base = load_job(spec.job, plan) if spec.job else {}
    base, _ = conceal_inputs(base, plan.get("secrets", []), scope=scope)
    # The job's floats as written travel with the run, as `saber cwl-runner` sends cwltool's.
    floats = {"floats": texts} if spec.job and (texts := job_floats(spec.job)) else {}

    retry = _retry_default(spec)
    upload = input_uploader(spec.storage)

    def request(point, run_id: str, extra: dict) -> RunRequest:
        _no_swept_secrets(plan, point, spec.sweep)
        inputs = {**base, **point.inputs}
        check_inputs({**{i["id"]: i.get("default") for i in plan["inputs"]}, **inputs}, plan,
                     file=str(spec.job) if spec.job else None)
        step_inputs = point.step_inputs
        if upload is not None:  # tasks on other machines read the inputs from the run's storage
            inputs, step_inputs = upload(inputs), upload(step_inputs)
        conf = run_conf(inputs, {"sweep_id": sweep_id, **extra, "params": point.params,
                                 "step_inputs": wire_safe(step_inputs), **floats,
                                 **({} if spec.cache else {"cache": False}), **retry,
                                 **({"storage": spec.storage} if upload is not None else {})})
        return RunRequest(run_id=run_id, conf=conf)
    return request


def _retry_default(spec: RunSpec) -> dict:
    """The run's default retry policy for steps without their own: the command line's, else
    the sweep file's sampler block's; it travels in each run's conf."""
    from saber.sweep import load_sweep

    sweep = load_sweep(spec.sweep) if spec.sweep else None
    retries = spec.retries if spec.retries is not None else sweep and sweep.retries
    delay = spec.retry_delay if spec.retry_delay is not None else sweep and sweep.retry_delay
    return {k: v for k, v in (("retries", retries), ("retry_delay", delay)) if v is not None}


def _no_swept_secrets(plan: dict, point, sweep: Path | None) -> None:
    """A sweep's values land in conf and in the results store: a secret must not be one."""
    swept = [f"input '{k}'" for k in point.inputs if k in plan.get("secrets", [])]
    steps = {s["task_id"]: s for s in plan["steps"]}
    swept += [f"input '{k}' of step '{task}'" for task, values in point.step_inputs.items()
              for k in values if k in steps.get(task, {}).get("secrets", [])]
    if swept:
        line, field = _secret_place(sweep, point, plan)
        raise InputError(f"the sweep sets {swept[0]}, a secret (cwltool:Secrets); secrets come from "
                         "the job file or the environment, never from a sweep", file=str(sweep), line=line,
                         field=field)


def _secret_place(sweep: Path | None, point, plan: dict) -> tuple[int | None, str | None]:
    """The line and key of the first dimension that sets a secret (read again: only on error)."""
    from saber.sweep import load_sweep

    if sweep is None:
        return None, None
    steps = {s["task_id"]: s for s in plan["steps"]}
    secret = set(plan.get("secrets", [])) | {k for task, values in point.step_inputs.items()
                                             for k in values if k in steps.get(task, {}).get("secrets", [])}
    for d in load_sweep(sweep).dimensions:
        if secret & {d.key, *(d.parameters or {}).values()}:
            return d.line, d.key
    return None, None


def job_secrets(plan: dict, spec: RunSpec, scope: str) -> dict[str, str]:
    """The job's (or the environment's) secret input values, keyed by the Variable each run's
    conf refers to: the backend keeps them in its secret store."""
    from saber.cwl._job import load_job
    from saber.execution._secrets import conceal_inputs, variable_key

    if not plan.get("secrets"):
        return {}
    _, plain = conceal_inputs(load_job(spec.job, plan) if spec.job else {}, plan["secrets"], scope=scope)
    return {variable_key(value, scope=scope): value for value in plain}


def study_setup(plan: dict, spec: RunSpec, name: str):
    """(StudySpec, SearchSpace) when the workflow is scored (or the sweep needs scores), else None."""
    from saber.optimize._setup import study_spec
    from saber.sweep import search_space

    sweep, target = _sweep_and_target(plan, spec)
    study = study_spec(sweep, plan, name, attrs={
        "saber_workflow": str(Path(spec.workflow).resolve()), "saber_dag_id": plan["dag_id"],
        "saber_sweep": str(Path(spec.sweep).resolve()) if spec.sweep else None})
    if study is None:
        return None
    space = search_space(sweep, target)
    # The job file and required inputs are checked before anything runs, on one point.
    some = {d.key: d.values[0].value if d.values else d.space.low for d in sweep.dimensions}
    _requester(plan, spec, name, name)(space.point(0, some), "check", {})  # dropped: any scope does
    return study, space


def _compile_and_prepare(spec: RunSpec, sweep_id: str, scope: str) -> tuple[dict, int | None]:
    """Compile and check everything; the number of points of a plain sweep, None for a scored
    workflow, whose points its study chooses later. The parent makes the points again (they
    are made lazily, and a search space does not cross process boundaries)."""
    plan = compile_workflow(spec.workflow)
    if study_setup(plan, spec, sweep_id) is not None:
        return plan, None
    return plan, len(prepare_points(plan, spec, sweep_id, scope=scope))


def new_sweep_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(2)


def run_sweep(spec: RunSpec, *, backend: Backend,
              on_progress: Callable[[list[RunProgress]], None] | None = None,
              on_ready: Callable[[dict, int | None, Any], None] | None = None,
              on_trial: Callable[[Any], None] | None = None) -> Summary:
    """Compile, validate, make the DAG runnable on ``backend``, run every point (a scored
    workflow: every trial of its study), collect outputs into the outdir. Once the first run is
    about to start, the end (finished, failed or interrupted) is told to ``spec.notify``'s and the
    sweep file's webhooks.

    ``on_ready(plan, points or trials, StudySpec or None)`` is called before the first run.
    """
    from saber.runs._notify import Watch, merge_urls

    sweep_id = spec.sweep_id or new_sweep_id()

    def urls() -> list[str]:
        from saber.sweep import load_sweep

        return merge_urls(spec.notify, load_sweep(spec.sweep).notify if spec.sweep else ())

    watch = Watch(name=sweep_id, urls=urls, ui=spec.ui, sweep_file=spec.sweep is not None,
                  on_ready=on_ready, on_trial=on_trial, on_progress=on_progress)
    try:
        summary = _drive(spec, sweep_id, backend, watch)
    except BaseException as e:
        watch.stopped(e)  # after the clean-up: the runs are stopped and the lease released
        raise
    watch.finished(summary)
    return summary


def _drive(spec: RunSpec, sweep_id: str, backend: Backend, watch) -> Summary:
    from saber.execution._secrets import new_scope
    from saber.scores import Lease, results_url

    started = time.monotonic()
    scope, stored = new_scope(), []
    lease = None
    try:
        check_files(spec)
        plan, count = boot(backend, _compile_and_prepare, spec, sweep_id, scope)
        if spec.job:  # here, not where the job is read: that happens more than once
            from saber.cwl._job import warn_ignored_keys

            warn_ignored_keys(spec.job, plan)
        # One driver per study or sweep name: a second `saber run --study S` is refused while
        # this one lives (before anything of this run is submitted or settled).
        lease = Lease(results_url(), sweep_id, command=" ".join(sys.argv))
        lease.acquire()
        backend.prepare(plan)
        if values := job_secrets(plan, spec, scope):
            stored = list(values)  # before storing: one stored when the next one fails is removed too
            backend.store_secrets(values)
        outdir = (spec.outdir or Path("saber-out") / plan["name"] / sweep_id).resolve()
        if count is None:
            summary = _run_study(plan, spec, sweep_id, scope, backend, outdir, started, watch.ready, watch.progress,
                                 watch.trial)
        else:
            points = prepare_points(plan, spec, sweep_id, scope=scope, check=False)
            summary = _run_points(plan, spec, sweep_id, points, backend, outdir, started, watch.ready,
                                  watch.progress)
    finally:
        close_backend(backend, stored)
        if lease is not None:
            lease.release()
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "summary.json").write_text(json.dumps(summary.to_json(), indent=2, default=str))
    return summary


def _run_points(plan: dict, spec: RunSpec, sweep_id: str, points: Points, backend: Backend, outdir: Path,
                started: float, on_ready, on_progress) -> Summary:
    from saber.sweep import load_sweep

    if on_ready:
        on_ready(plan, len(points), None)
    # SABER's batch-grid: at most batch_size points run at once (no scores: no rounds); else
    # BATCH at a time, each batch's points made, run and collected before the next is made.
    batch = (load_sweep(spec.sweep).batch_size if spec.sweep else None) or BATCH
    results: list[PointResult] = []
    tally = _Tally(on_progress)
    with _recorded(plan, spec, sweep_id) as record:
        for prepared in points.batches(batch):
            states: dict[str, RunState] = {}
            if spec.sweep_id:  # a name given again resumes that sweep: what succeeded is kept
                prepared, states = _resume(backend, prepared)
            requests = [req for _, req in prepared if req.run_id not in states]
            show = tally.show if record is None else record.watching(backend, prepared, tally.show)
            for i in range(0, len(requests), batch):
                states.update(run_batch(backend, requests[i:i + batch], show))
            batch_results = _collect(backend, prepared, states, outdir, spec.download, record)
            tally.add(batch_results)
            results.extend(batch_results)
    return Summary(workflow=str(spec.workflow), dag_id=plan["dag_id"], sweep_id=sweep_id, outdir=outdir,
                   points=results, seconds=time.monotonic() - started)


class _Tally:
    """Live progress over batches: the runs of finished batches, folded into one entry per
    state (with their steps' counts as last shown), ahead of the current batch's runs."""

    def __init__(self, on_progress: Callable[[list[RunProgress]], None] | None) -> None:
        self.on_progress = on_progress
        self.earlier: dict[str, RunProgress] = {}
        self.last: dict[str, RunProgress] = {}

    def add(self, results: list[PointResult]) -> None:
        for r in results:
            entry = self.earlier.setdefault(r.state, RunProgress(run_id=f"(earlier {r.state})", state=r.state,
                                                                 runs=0))
            entry.runs += 1
            entry.cached += len(r.cached)
            for state, n in getattr(self.last.get(r.run_id), "tasks", {}).items():
                entry.tasks[state] = entry.tasks.get(state, 0) + n
        self.last = {}

    def show(self, runs: list[RunProgress]) -> None:
        self.last.update((r.run_id, r) for r in runs)
        if self.on_progress is not None:
            self.on_progress([*self.earlier.values(), *runs])


def _run_study(plan: dict, spec: RunSpec, name: str, scope: str, backend: Backend, outdir: Path,
               started: float, on_ready, on_progress, on_trial) -> Summary:
    from saber.runs._study import run_study

    study, space = study_setup(plan, spec, name)
    if on_ready:
        on_ready(plan, space.grid_size if study.method in ("grid", "batch-grid") and not study.max_iterations
                 else study.max_iterations, study)
    result, runs = run_study(plan, study, space, backend=backend, request=_requester(plan, spec, name, scope),
                             outdir=outdir, on_progress=on_progress, on_trial=on_trial, download=spec.download)
    points = []
    for record in result.trials:
        req, outputs = runs[record.number]
        points.append(PointResult(index=record.number, params=record.params, run_id=req.run_id,
                                  state=record.outcome.state, outputs=outputs,
                                  score=record.value, error=record.error, cached=record.outcome.cached))
    objective = study.objective if isinstance(study.objective, str) else list(study.objective)
    info = {"name": name, "direction": study.direction, "objective": objective, "method": study.method,
            "best": result.best, "stopped_by": result.stopped_by}
    return Summary(workflow=str(spec.workflow), dag_id=plan["dag_id"], sweep_id=name, outdir=outdir,
                   points=points, seconds=time.monotonic() - started, study=info)


def _resume(backend: Backend, prepared: list) -> tuple[list, dict[str, RunState]]:
    """The points of a sweep run before under this name: a point whose run succeeded keeps it
    (its outputs are collected again); one whose run failed or was stopped runs again under the
    next free id (`<id>-2`, `-3`, ...); a run still going (its driver died) is stopped first."""
    from dataclasses import replace

    kept: dict[str, RunState] = {}
    todo = {req.run_id: (i, req.run_id, 1) for i, (_, req) in enumerate(prepared)}
    chosen = {i: req for i, (_, req) in enumerate(prepared)}
    while todo:
        settled = backend.settle(list(todo))
        again = {}
        for run_id, (i, base, attempt) in todo.items():
            state = settled.get(run_id)
            if state is None:
                chosen[i] = replace(chosen[i], run_id=run_id)
            elif state == "success":
                chosen[i] = replace(chosen[i], run_id=run_id)
                kept[run_id] = state
            else:
                again[f"{base}-{attempt + 1}"] = (i, base, attempt + 1)
        todo = again
    return [(point, chosen[i]) for i, (point, _) in enumerate(prepared)], kept


@contextmanager
def _recorded(plan: dict, spec: RunSpec, sweep_id: str) -> Iterator[SweepRecord | None]:
    """A sweep's record in the results store (None for a single run: no sweep file); the runs
    it leaves unfinished, interrupted or failing, are recorded as failed."""
    from saber.runs._record import SweepRecord
    from saber.scores import ResultsStore, results_url
    from saber.sweep import load_sweep

    if spec.sweep is None:
        yield None
        return
    with ResultsStore(results_url()) as store:
        record = SweepRecord(store, sweep_id, {
            "saber_workflow": str(Path(spec.workflow).resolve()), "saber_dag_id": plan["dag_id"],
            "saber_sweep": str(Path(spec.sweep).resolve()), "saber_method": load_sweep(spec.sweep).method})
        try:
            yield record
        finally:
            record.abandon()


def _collect(backend: Backend, prepared, states: dict[str, RunState], outdir: Path,
             download: bool = True, record: SweepRecord | None = None) -> list[PointResult]:
    from saber.runs._outputs import export_outputs

    results = []
    for point, req in prepared:
        state = states.get(req.run_id, "failed")
        outputs = None
        outcome = backend.outcome(req.run_id)
        if record is not None:
            record.finished(point.index, point.params, outcome)
        if state == "success":
            outputs = export_outputs(backend.outputs(req.run_id), outdir / f"point-{point.index:04d}",
                                     download=download)
        results.append(PointResult(index=point.index, params=point.params, run_id=req.run_id,
                                   state=state, outputs=outputs,
                                   error=None if state == "success" else outcome.error,
                                   cached=outcome.cached_steps))
    mark("outputs")
    return results
