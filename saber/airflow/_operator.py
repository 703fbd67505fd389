"""The Airflow operators that run CWL steps. Imported by DAG files: no cwltool at import time."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from saber._phases import mark
from saber.home import storage_root
from saber.plan import CONF_KEY, check_conf, unwire, wire_safe

if TYPE_CHECKING:
    from saber.execution import ToolRun
    from saber.scores import ScoreMatch

__all__ = ["CwlStepOperator", "GroupScatterOperator", "ScatterOperator"]


class _StepBase(BaseOperator):
    """Shared by the step and its scatter helper: how a task sees the plan and the run."""

    ui_color = "#d9ecf9"
    step: dict
    plan: dict

    # No __init__ here: Airflow re-runs its argument handling for every __init__ in the chain,
    # and a 100-step DAG file builds 100 of these at every parse.

    def _resolver(self, context):
        from saber.execution import Resolver, step_fetcher

        params = context["params"]
        conf = context["dag_run"].conf or {}
        check_conf(conf, self.plan)  # a typo in a hand-made conf must not be silently ignored
        inputs = {i["id"]: params.get(i["id"], i.get("default")) for i in self.plan["inputs"]}
        inputs.update(unwire((conf.get(CONF_KEY) or {}).get("inputs", {})))
        ti = context["ti"]
        fetch = step_fetcher(self.plan, lambda task, index, key: unwire(ti.xcom_pull(task_ids=task, key=key,
                                                                                    map_indexes=index)))
        # Inside a scattered subworkflow (a mapped task group) this task is one element's.
        group = self.step.get("mapped_by")
        return Resolver(self.plan, inputs, fetch, {group: ti.map_index} if group else None)

    def _overrides(self, context) -> dict:
        conf = context["dag_run"].conf or {}
        return unwire((conf.get(CONF_KEY) or {}).get("step_inputs", {}).get(self.step["task_id"], {}))


class ScatterOperator(_StepBase):
    """Resolves a scattered step's inputs and returns one job per scatter element; the step's
    own task is mapped over that list (dynamic task mapping, one task instance per element)."""

    ui_color = "#eeeeee"

    def __init__(self, *, step: dict, plan: dict, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.step = step
        self.plan = plan

    def execute(self, context) -> list[dict]:
        from airflow.sdk.exceptions import AirflowSkipException

        from saber.execution import finish_inputs, scatter_jobs

        resolver = self._resolver(context)
        if not resolver.guards_pass(self.step):
            raise AirflowSkipException("the enclosing subworkflow step's 'when' is false")
        values = resolver.step_inputs(self.step, self._overrides(context))
        jobs, shape = scatter_jobs(self.step, values)
        jobs = [finish_inputs(self.step, job, self.step["requirements"]) for job in jobs]
        context["ti"].xcom_push(key="shape", value=shape)
        self.log.info("scatter %s over %s: %d jobs, shape %s", self.step["task_id"],
                      self.step["scatter"], len(jobs), shape)
        return wire_safe(jobs)


class GroupScatterOperator(_StepBase):
    """Scatters the inputs of a subworkflow step; the step's task group is mapped over them, so
    every task inside runs once per element, at that element's map index."""

    ui_color = "#eeeeee"

    def __init__(self, *, group: str, plan: dict, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.step = {"task_id": group, "guards": plan["mapped"][group]["guards"], "mapped_by": None}

    def execute(self, context) -> list[dict]:
        from airflow.sdk.exceptions import AirflowSkipException

        resolver = self._resolver(context)
        if not resolver.guards_pass(self.step):
            raise AirflowSkipException("the enclosing subworkflow step's 'when' is false")
        jobs, shape = resolver.scatter_ports(self.step["task_id"])
        context["ti"].xcom_push(key="shape", value=shape)
        self.log.info("scatter subworkflow %s: %d elements, shape %s", self.step["task_id"], len(jobs), shape)
        return wire_safe(jobs)


class CwlStepOperator(_StepBase):
    """Runs one CWL step's tool in Docker through cwltool; returns the CWL output object.

    Also pushes XCom ``container_s``: seconds the tool's container ran (summed over the jobs of
    an inline scatter). A step with a ``score_format`` hint pushes ``score`` (None when no output
    line matched: the task still succeeds, the trial has no score) and ``score_fields`` (the
    format's other named fields; for an inline scatter, whose score is the mean of its jobs',
    ``{"job_scores": [...], "job_fields": [...]}``).
    """

    def __init__(self, *, step: dict, plan: dict, job: dict | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.step = step
        self.plan = plan
        self.job = job

    def on_kill(self) -> None:
        """Airflow stops this task (its run marked failed, a timeout, a worker shutting down):
        the tool's container must stop too. Killing the `docker run` client would leave it
        running, so kill the containers cwltool recorded in its cidfiles."""
        import subprocess

        self._stopping = True  # the step's killed container is not tried again
        workdir = getattr(self, "_workdir", None)
        ids = [p.read_text().strip() for p in workdir.glob("**/*.cid")] if workdir else []
        ids = [i for i in ids if i]
        if ids:
            self.log.warning("killing container(s) %s of step %s", ", ".join(i[:12] for i in ids),
                             self.step["task_id"])
            subprocess.run(["docker", "kill", *ids], capture_output=True, timeout=60)

    def execute(self, context) -> dict | list | None:
        from airflow.sdk.exceptions import AirflowSkipException

        from saber.execution import finish_inputs, when_true

        mark("task start")
        reqs = self.step["requirements"]
        if self.job is None:
            resolver = self._resolver(context)
            if not resolver.guards_pass(self.step):
                raise AirflowSkipException("the enclosing subworkflow step's 'when' is false")
            values = resolver.step_inputs(self.step, self._overrides(context))
            if self.step.get("inline_scatter"):
                return wire_safe(self._run_scatter(context, values))
            job = finish_inputs(self.step, values, reqs)
        else:
            job = unwire(self.job)
        if not when_true(self.step, job, reqs):
            raise AirflowSkipException(f"'when' is false for step {self.step['task_id']}")
        run = self._run(context, job)
        self._push_run(context["ti"], run)
        mark("task outputs")
        return wire_safe(run.outputs)

    def _push_run(self, ti, run: ToolRun) -> None:
        ti.xcom_push(key="container_s", value=run.container_s)
        if run.cached:  # pushed only on a hit: progress counts hits by listing this key
            ti.xcom_push(key="cached", value=True)
        if self.step.get("score_format"):
            found = self._score(run)
            ti.xcom_push(key="score", value=found.score if found else None)
            ti.xcom_push(key="score_fields", value=wire_safe(found.fields if found else {}))

    def _run_scatter(self, context, values: dict) -> list:
        """A scatter inside a scattered subworkflow. Airflow maps a task group only once, so this
        task (one per element of the group) runs the scatter's jobs itself, one after another;
        a job whose `when` is false gives null, as in CWL."""
        from saber.execution import finish_inputs, nest, scatter_jobs, when_true

        reqs = self.step["requirements"]
        jobs, shape = scatter_jobs(self.step, values)
        self.log.info("scatter %s over %s inside this task: %d jobs, shape %s", self.step["task_id"],
                      self.step["scatter"], len(jobs), shape)
        runs: list[ToolRun | None] = []
        for j, job in enumerate(jobs):
            job = finish_inputs(self.step, job, reqs)
            runs.append(self._run(context, job, f"job{j}") if when_true(self.step, job, reqs) else None)
        ti = context["ti"]
        ti.xcom_push(key="container_s", value=sum(run.container_s for run in runs if run))
        if any(runs) and all(run.cached for run in runs if run):
            ti.xcom_push(key="cached", value=True)
        if self.step.get("score_format"):
            self._push_mean_score(ti, {j: run for j, run in enumerate(runs) if run})
        return nest([run.outputs if run else None for run in runs], shape)

    def _push_mean_score(self, ti, runs: dict[int, ToolRun]) -> None:
        """An inline scatter's score is the mean of its jobs' (a job whose `when` was false has
        none); None when any job that ran matched no line."""
        found = {j: self._score(run, f"job {j} ") for j, run in runs.items()}
        scores = [m.score for m in found.values() if m]
        mean = sum(scores) / len(scores) if scores and len(scores) == len(found) else None
        if mean is not None:
            self.log.info("score: %s (mean of %d jobs)", mean, len(scores))
        ti.xcom_push(key="score", value=mean)
        ti.xcom_push(key="score_fields", value=wire_safe({
            "job_scores": [m.score if m else None for m in found.values()],
            "job_fields": [m.fields if m else None for m in found.values()]}))

    def _score(self, run: ToolRun, label: str = "") -> ScoreMatch | None:
        """The last line of the run's output matching the step's score_format, logged."""
        from saber.scores import ScoreFormat, match_score

        fmt = ScoreFormat.compile(self.step["score_format"])  # checked when the plan was built
        found = match_score(fmt, run.lines)
        if found is None:
            self.log.warning("%sscore_format '%s' matched no line of stdout or stderr of step '%s'; "
                             "this trial has no score", label, fmt.text, self.step["task_id"])
        else:
            self.log.info("%sscore: %s (%s line: %r)", label, found.score, found.stream, found.line)
        return found

    def _run(self, context, job: dict, sub: str | None = None) -> ToolRun:
        from saber.execution import RetryPolicy, StepCache, run_cached, run_tool, run_with_retries
        from saber.execution._retry import STOP_MARK
        from saber.execution._staging import publish_outputs, stage_in, task_storage

        ti = context["ti"]
        where = Path(self.dag_id) / context["run_id"] / self.step["task_id"]
        if ti.map_index is not None and ti.map_index >= 0:
            where = where / str(ti.map_index)
        root = storage_root()
        self._workdir = root / ".work" / where  # every job of this task instance runs below it
        if sub:
            where = where / sub
        conf = context["dag_run"].conf or {}
        own = conf.get(CONF_KEY) or {}
        floats = {**self.plan.get("floats", {}), **own.get("floats", {})}

        def run_once(attempt: int) -> ToolRun:
            return run_tool(self.step, job, floats=floats, outdir=root / where,
                            workdir=root / ".work" / where / f"try{ti.try_number}{'' if attempt == 1 else f'.{attempt}'}",
                            echo=lambda stream, line: self.log.info("[%s] %s", stream, line))

        def run() -> ToolRun:
            # A killed container is tried once more; a tool's own failure only if asked.
            run_dir = root / ".work" / self.dag_id / context["run_id"]
            return run_with_retries(run_once, RetryPolicy.of(self.step, own), root / where, self.log.warning,
                                    stopped=lambda: getattr(self, "_stopping", False) or (run_dir / STOP_MARK).exists())

        # Run data on S3: inputs come from it into local scratch, outputs go to it as one unit
        # (the run's conf names the storage; workers need only credentials).
        storage = task_storage(own)
        if storage is not None:
            job = stage_in(job, storage, root / ".work" / where / f"inputs-try{ti.try_number}", local_root=root)
        # A sweep point, study trial or resume whose step ran before with the same tool, image
        # and inputs reuses that run's outputs (saber run --no-cache turns it off).
        cache = StepCache(root / ".cache") if own.get("cache", True) else None
        result = run_cached(self.step, job, floats=floats, outdir=root / where, cache=cache,
                            name=f"{self.plan['name']}/{self.step['task_id']}",
                            source={"dag_id": self.dag_id, "run_id": context["run_id"],
                                    "task_id": self.step["task_id"], "map_index": ti.map_index},
                            say=self.log.info, run=run)
        if storage is None:
            return result
        outputs = publish_outputs(result.outputs, root / where, storage, where.as_posix())
        self.log.info("outputs published to %s", storage.location(where.as_posix()))
        return dataclasses.replace(result, outputs=outputs)
