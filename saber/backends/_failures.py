"""Why a DAG run failed, from its task logs' records: the one sentence a failed point or trial
shows, and the longer tail `saber cwl-runner` prints. Backends fetch the records (a log file,
a REST response); the reading is the same."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["log_records", "outcome_error", "run_error", "step_error"]


def log_records(text: str) -> list[Any]:
    """Airflow's JSON-lines task log as records (a line that is not JSON stays a string)."""
    records: list[Any] = []
    for raw in text.splitlines():
        try:
            records.append(json.loads(raw))
        except ValueError:
            records.append(raw)
    return records


def step_error(records: Iterable[Any], lines: int = 25) -> str:
    """The step's error as its task log records it (the tool's stderr tail is part of it)."""
    events, errors = [], []
    for record in records:
        if not isinstance(record, Mapping):
            events.append(str(record))
            continue
        if isinstance(record.get("error_detail"), list):
            errors.extend(d for d in record["error_detail"] if isinstance(d, Mapping))
        event = str(record.get("event", ""))
        if not event.startswith("::"):  # Airflow's log-group markers
            events.append(event)
    if errors:  # saber's StepFailed carries the tool's exit code and stderr tail
        chosen = next((d for d in errors if d.get("exc_type") == "StepFailed"), errors[-1])
        return f"{chosen.get('exc_type')}: {chosen.get('exc_value')}"
    text = "\n".join(events).strip()
    return "\n".join(text.splitlines()[-lines:]) if text else "(no task log)"


def run_error(failed: Sequence[str], first_error: str | None, state: str) -> str:
    """One line: the failed steps and the last line the first of them logged (a tool's own
    error sentence, e.g. "the server refused the token (HTTP 401)")."""
    if not failed:
        return f"the DAG run ended {state}"
    names = sorted({label.partition("[")[0] for label in failed})
    what = f"step{'s' if len(names) > 1 else ''} {', '.join(repr(t) for t in names)} failed"
    lines = [ln.strip() for ln in (first_error or "").splitlines() if ln.strip()]
    return f"{what}: {lines[-1]}" if lines else what


def outcome_error(failures: Mapping[str, str], state: str) -> str | None:
    """A run's one sentence from its failed steps' errors (``task`` or ``task[i]`` -> log tail):
    None for a successful run; the first failed step (by label) speaks for it."""
    if state == "success":
        return None
    labels = sorted(failures)
    return run_error(labels, failures[labels[0]] if labels else None, state)
