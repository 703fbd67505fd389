"""Why a DAG run failed, read back from its task logs: for `saber cwl-runner`'s error, and for
the one line each failed point or trial of `saber run` shows."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["run_failure", "step_error"]


def step_error(log_root: Path, dag_id: str, run_id: str, ti, lines: int = 25) -> str:
    """The step's error as its task log records it (the tool's stderr tail is part of it)."""
    folder = log_root / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={ti.task_id}"
    if ti.map_index >= 0:
        folder = folder / f"map_index={ti.map_index}"
    logs = sorted(folder.glob("attempt=*.log"))
    if not logs:
        return "(no task log)"
    events, errors = [], []
    for raw in logs[-1].read_text(errors="replace").splitlines():
        try:
            record = json.loads(raw)
        except ValueError:
            events.append(raw)
            continue
        if isinstance(record.get("error_detail"), list):
            errors.extend(d for d in record["error_detail"] if isinstance(d, dict))
        event = str(record.get("event", ""))
        if not event.startswith("::"):  # Airflow's log-group markers
            events.append(event)
    if errors:  # saber's StepFailed carries the tool's exit code and stderr tail
        chosen = next((d for d in errors if d.get("exc_type") == "StepFailed"), errors[-1])
        return f"{chosen.get('exc_type')}: {chosen.get('exc_value')}"
    return "\n".join("\n".join(events).splitlines()[-lines:])


def run_failure(session, dag_id: str, run_id: str, state: str) -> str:
    """One line: the failed steps and the last line the first of them printed to stderr (a
    tool's own error sentence, e.g. "the server refused the token (HTTP 401)")."""
    from airflow.configuration import conf
    from airflow.models.taskinstance import TaskInstance

    log_root = Path(conf.get("logging", "base_log_folder"))

    failed = sorted((ti for ti in session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id)
                     if str(ti.state) == "failed"), key=lambda ti: (ti.task_id, ti.map_index))
    if not failed:
        return f"the DAG run ended {state}"
    names = sorted({ti.task_id for ti in failed})
    what = f"step{'s' if len(names) > 1 else ''} {', '.join(repr(t) for t in names)} failed"
    lines = [ln.strip() for ln in step_error(log_root, dag_id, run_id, failed[0]).splitlines() if ln.strip()]
    return f"{what}: {lines[-1]}" if lines else what
