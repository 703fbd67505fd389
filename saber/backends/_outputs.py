"""A finished run's workflow outputs, resolved from its steps' XComs the way the workflow's
outputSource links say (the same Resolver the tasks use)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from saber.backends._base import step_label  # noqa: F401 - where the backends import it from
from saber.execution import Resolver, step_fetcher
from saber.plan import conf_inputs, unwire

__all__ = ["NOTE_LIMIT", "pushed_float", "resolve_outputs", "step_label"]

NOTE_LIMIT = 1000  # characters of a DAG run's note Airflow keeps (dag_run_note.content)


def resolve_outputs(plan: dict, conf: dict, xcom: Callable[[str, int, str], Any]) -> dict[str, Any]:
    """``xcom(task_id, map_index, key)`` gives a task's pushed value (None when absent)."""
    resolver = Resolver(plan, conf_inputs(conf), step_fetcher(plan, lambda t, i, k: unwire(xcom(t, i, k))))
    return {out["id"]: resolver.link(out) for out in plan["outputs"]}


def pushed_float(value: Any) -> float | None:
    """A number a step pushed (a score, container seconds) as a float; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
