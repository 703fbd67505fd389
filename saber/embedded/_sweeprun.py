"""`saber run`: a workflow and a sweep in, one real Airflow DAG run per sweep point out."""

from __future__ import annotations

import json
import multiprocessing
import secrets
import time
from concurrent.futures import ProcessPoolExecutor
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saber.embedded._home import SaberHome
from saber.embedded._runner import EmbeddedRunner, RunProgress, RunRequest

__all__ = ["RunSpec", "PointResult", "Summary", "compile_workflow", "prepare_points", "run_sweep"]


@dataclass(frozen=True)
class RunSpec:
    workflow: Path
    sweep: Path | None = None
    job: Path | None = None
    outdir: Path | None = None
    sweep_id: str | None = None
    workers: int | None = None


@dataclass
class PointResult:
    index: int
    params: dict
    run_id: str
    state: str
    outputs: dict | None = None
    conf: dict = field(default_factory=dict)


@dataclass
class Summary:
    workflow: str
    dag_id: str
    sweep_id: str
    outdir: Path
    points: list[PointResult]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(p.state == "success" for p in self.points)

    def to_json(self) -> dict:
        return {
            "workflow": self.workflow,
            "dag_id": self.dag_id,
            "sweep_id": self.sweep_id,
            "seconds": round(self.seconds, 3),
            "points": [{"index": p.index, "params": p.params, "state": p.state, "dag_run_id": p.run_id,
                        "outputs": p.outputs} for p in self.points],
        }


def compile_workflow(path: Path) -> dict:
    from saber.cwl import build_plan, load_process

    return build_plan(load_process(path), path=path)


def prepare_points(plan: dict, spec: RunSpec, sweep_id: str) -> list[tuple[Any, RunRequest]]:
    """Validate the job and sweep against the plan; one RunRequest (DAG run) per point."""
    from saber.execution._conf import run_conf, wire_safe
    from saber.cwl._job import check_inputs, load_job
    from saber.sweep import Point, SweepTarget, expand, load_sweep

    base = load_job(spec.job, plan) if spec.job else {}
    if spec.sweep:
        target = SweepTarget(
            workflow_inputs={i["id"]: i["type"] for i in plan["inputs"]},
            step_inputs={s["task_id"]: {i["id"]: i.get("type") for i in s["in"]} for s in plan["steps"]})
        points = expand(load_sweep(spec.sweep), target)
    else:
        points = [Point(index=0, params={}, inputs={}, step_inputs={})]
    out = []
    for point in points:
        inputs = {**base, **point.inputs}
        check_inputs({**{i["id"]: i.get("default") for i in plan["inputs"]}, **inputs}, plan,
                     file=str(spec.job) if spec.job else None)
        conf = run_conf(inputs, {"sweep_id": sweep_id, "point": point.index, "params": point.params,
                                 "step_inputs": wire_safe(point.step_inputs)})
        out.append((point, RunRequest(run_id=f"{sweep_id}_p{point.index:04d}", conf=conf)))
    return out


def _compile_and_prepare(spec: RunSpec, sweep_id: str) -> tuple[dict, list]:
    plan = compile_workflow(spec.workflow)
    return plan, prepare_points(plan, spec, sweep_id)


def new_sweep_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(2)


def run_sweep(spec: RunSpec, *, home: SaberHome, on_progress: Callable[[list[RunProgress]], None] | None = None,
              on_ready: Callable[[dict, int], None] | None = None) -> Summary:
    """Compile, validate, emit the DAG, run every point, collect outputs into the outdir."""
    from saber.embedded._docker import check_docker

    started = time.monotonic()
    sweep_id = spec.sweep_id or new_sweep_id()
    home.activate()
    # Validating the CWL (cwltool, ~2 s) and importing Airflow (~2 s) are both CPU-bound: the
    # first runs in a child forked before Airflow loads, so they overlap on two cores.
    from saber.cwl import warm_schema

    warm_schema()  # parsed once, here: the child and, later, the tool preloads share it
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as child:
        compiled = child.submit(_compile_and_prepare, spec, sweep_id)
        home.ensure_database()
        from saber.airflow import write_dag_file

        plan, prepared = compiled.result()
    check_docker()  # after validation: bad input is reported even with Docker down
    from saber.execution import preload_tool

    for step in plan["steps"]:  # loaded once here, shared by every worker forked later
        preload_tool(step)

    dag_file = write_dag_file(plan, home.dags)
    if on_ready:
        on_ready(plan, len(prepared))
    runner = EmbeddedRunner(dag_file=dag_file, plan_path=dag_file.with_name(f"{plan['dag_id']}.plan.json"),
                            workers=spec.workers)
    states = runner.run([req for _, req in prepared], on_progress=on_progress)
    outdir = (spec.outdir or Path("saber-out") / plan["name"] / sweep_id).resolve()
    points = _collect(plan, prepared, states, outdir)
    summary = Summary(workflow=str(spec.workflow), dag_id=plan["dag_id"], sweep_id=sweep_id, outdir=outdir,
                      points=points, seconds=time.monotonic() - started)
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "summary.json").write_text(json.dumps(summary.to_json(), indent=2))
    return summary


def _collect(plan: dict, prepared, states: dict[str, str], outdir: Path) -> list[PointResult]:
    from airflow import settings

    from saber.execution._conf import conf_inputs
    from saber.embedded._results import export_outputs, run_outputs

    session = settings.Session()
    results = []
    try:
        for point, req in prepared:
            state = states.get(req.run_id, "failed")
            outputs = None
            if state == "success":
                inputs = conf_inputs(req.conf)
                raw = run_outputs(plan, req.run_id, inputs, session)
                outputs = export_outputs(raw, outdir / f"point-{point.index:04d}")
            results.append(PointResult(index=point.index, params=point.params, run_id=req.run_id,
                                       state=state, outputs=outputs, conf=req.conf))
    finally:
        session.close()
    return results
