"""What the embedded backend reads back from its Airflow database (a run's XComs, dates, task
instances, task logs) and writes besides runs (notes), through ``_compat``."""

from __future__ import annotations

from typing import Any

from saber.backends._base import RunOutcome, RunState, StepRecord, run_state
from saber.backends._failures import log_records, outcome_error, step_error
from saber.backends._outputs import NOTE_LIMIT, pushed_float, resolve_outputs, step_label

__all__ = ["Records"]


class Records:
    """Reads and small writes on one DAG's runs, through one ORM session."""

    def __init__(self, plan: dict, session) -> None:
        self.plan, self.dag_id, self.session = plan, plan["dag_id"], session

    def outputs(self, run_id: str, conf: dict) -> dict[str, Any]:
        from saber.backends.embedded._compat import xcom

        self.session.expire_all()
        try:
            return resolve_outputs(self.plan, conf, lambda task, index, key: xcom(
                self.session, self.dag_id, run_id, task, index, key))
        finally:
            self.session.commit()

    def outcome(self, run_id: str) -> RunOutcome:
        from saber.backends.embedded import _compat

        self.session.expire_all()
        values = _compat.xcoms(self.session, self.dag_id, run_id, ("score", "score_fields", "container_s", "cached"))
        scored = {s["task_id"] for s in self.plan["steps"] if s.get("score_format")}
        tis = sorted(_compat.task_instances(self.session, self.dag_id, run_id),
                     key=lambda t: (t.task_id, t.map_index))
        steps = [StepRecord(task_id=ti.task_id, map_index=ti.map_index, state=str(ti.state or "none"),
                            score=pushed_float(values.get((ti.task_id, ti.map_index, "score"))),
                            score_fields=values.get((ti.task_id, ti.map_index, "score_fields")) or {},
                            container_s=pushed_float(values.get((ti.task_id, ti.map_index, "container_s"))) or 0.0,
                            scored=ti.task_id in scored,
                            cached=values.get((ti.task_id, ti.map_index, "cached")) is True) for ti in tis]
        dr = _compat.get_run(self.session, self.dag_id, run_id)
        state = run_state(str(dr.state) if dr else "failed")
        wall = (dr.end_date - dr.start_date).total_seconds() if dr and dr.end_date and dr.start_date else 0.0
        failures = {step_label(ti.task_id, ti.map_index): self._log_error(run_id, ti.task_id, ti.map_index)
                    for ti in tis if str(ti.state) == "failed"}
        self.session.commit()
        return RunOutcome(run_id=run_id, state=state, wall_s=wall, steps=steps, error=outcome_error(failures, state),
                          failures=failures)

    def _log_error(self, run_id: str, task_id: str, map_index: int) -> str:
        from saber.backends.embedded._compat import base_log_folder

        folder = base_log_folder() / f"dag_id={self.dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        if map_index >= 0:
            folder = folder / f"map_index={map_index}"
        logs = sorted(folder.glob("attempt=*.log"))
        return step_error(log_records(logs[-1].read_text(errors="replace"))) if logs else "(no task log)"

    def conf(self, run_id: str) -> dict:
        from saber.backends.embedded._compat import get_run

        dr = get_run(self.session, self.dag_id, run_id)
        self.session.commit()
        return dict(dr.conf or {}) if dr is not None else {}

    def settle(self, run_ids: list[str]) -> dict[str, RunState | None]:
        """Final states of runs this process did not see end; one still active (its driver is
        dead: nothing else drives an embedded run) has its containers killed and is failed."""
        from saber.backends.embedded._compat import ACTIVE_RUN_STATES, fail_runs, get_run
        from saber.backends.embedded._runner import kill_containers

        self.session.expire_all()
        runs = {r: get_run(self.session, self.dag_id, r) for r in run_ids}
        self.session.commit()
        going = [r for r, dr in runs.items() if dr is not None and dr.state in ACTIVE_RUN_STATES]
        if going:
            kill_containers(self.dag_id, going)
            fail_runs(self.session, going)
        return {r: None if dr is None else "failed" if r in going else run_state(str(dr.state))
                for r, dr in runs.items()}

    def annotate(self, run_id: str, note: str) -> None:
        from saber.backends.embedded._compat import get_run

        dr = get_run(self.session, self.dag_id, run_id)
        if dr is not None:
            dr.note = note[:NOTE_LIMIT]
        self.session.commit()

