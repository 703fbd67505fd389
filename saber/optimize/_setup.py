"""From a sweep's sampler block and a compiled workflow to a study: which steps are the
objectives, and whether the method can run the sweep's labels at all."""

from __future__ import annotations

from typing import Any

from saber.errors import InputError
from saber.optimize._loop import StudySpec
from saber.sweep import GRID_METHODS, Sweep

__all__ = ["scored_steps", "study_spec"]

_LEARNING = ("tpe", "cmaes")


def scored_steps(plan: dict) -> list[dict]:
    return [s for s in plan["steps"] if s.get("score_format")]


def study_spec(sweep: Sweep, plan: dict, name: str, attrs: dict[str, Any] | None = None) -> StudySpec | None:
    """The study a sweep asks for; None when nothing is scored and the sweep needs no scores
    (it then runs as a plain sweep: every point once).

    Several scored steps and no sampler.objective make a study with one objective per scored
    step: every score is recorded, and grid, random and batch-grid need no single one.

    Raises:
        InputError: with the sweep file's line: an objective that names no scored step, several
        scored steps and no objective under a learning method, a learning method with nothing
        scored, a continuous label under a grid method.
    """
    scored = scored_steps(plan)
    objectives = _objectives(sweep, plan, scored)
    if sweep.method in GRID_METHODS and sweep.continuous:
        d = sweep.continuous[0]
        raise InputError(f"the {sweep.method} method needs a finite list of values, but '{d.key}' is a "
                         f"{d.space.kind} space (use int/range/values, or method random, tpe or cmaes)",
                         file=sweep.file, line=d.space.line, field=d.key)
    if not objectives:
        if sweep.method in _LEARNING or sweep.continuous:
            what = (f"the {sweep.method} method learns from scores" if sweep.method in _LEARNING
                    else f"'{sweep.continuous[0].key}' is a {sweep.continuous[0].space.kind} space, sampled "
                    "by an optimizer that needs scores")
            raise InputError(f"{what}, but no step of {plan['name']} has a score_format hint "
                             "(hints: saber: {score_format: \"F1: {score}\"})",
                             file=sweep.file, line=sweep.sampler_line or 1, field="sampler")
        return None
    return StudySpec(name=name, method=sweep.method, direction=sweep.direction,
                     objective=objectives[0] if len(objectives) == 1 else objectives,
                     max_iterations=sweep.max_iterations, batch_size=sweep.batch_size, seed=sweep.seed,
                     max_time=sweep.max_time, attrs=dict(attrs or {}))


def _objectives(sweep: Sweep, plan: dict, scored: list[dict]) -> tuple[str, ...]:
    """The task ids whose scores are the study's objectives: sampler.objective, else every
    scored step in plan order."""
    names = ", ".join(s["task_id"] for s in scored) or "none"
    if sweep.objective is not None:
        line = sweep.lines.get("objective", sweep.sampler_line)
        step = next((s for s in plan["steps"] if sweep.objective in (s["task_id"], s["id"])), None)
        if step is None:
            raise InputError(f"objective '{sweep.objective}' names no step of {plan['name']} "
                             f"(steps: {', '.join(s['task_id'] for s in plan['steps'])})",
                             file=sweep.file, line=line, field="sampler.objective")
        if not step.get("score_format"):
            raise InputError(f"objective '{sweep.objective}' names a step without a score_format hint "
                             f"(scored steps: {names})", file=sweep.file, line=line, field="sampler.objective")
        return (step["task_id"],)
    if len(scored) > 1 and sweep.method in _LEARNING:
        # A learning method is only given in a sampler block, so there is a line to point at.
        raise InputError(f"the {sweep.method} method learns from one score, but {len(scored)} steps are "
                         f"scored ({names}): name the one to optimize with sampler.objective",
                         file=sweep.file, line=sweep.lines.get("method", sweep.sampler_line),
                         field="sampler.method")
    return tuple(s["task_id"] for s in scored)
