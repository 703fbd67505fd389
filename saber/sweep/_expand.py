"""Checking a loaded sweep against a workflow and expanding it into typed, independent points."""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from saber.cwl._types import coerce
from saber.errors import InputError
from saber.sweep._model import Dimension, Point, Sweep, SweepTarget, Value
from saber._yaml import exact

__all__ = ["expand"]


@dataclass(frozen=True)
class _Assignment:
    step: str | None  # None: a workflow input
    name: str
    value: Any


@dataclass(frozen=True)
class _Axis:
    """A dimension resolved against the workflow: per value, its label value and assignments."""

    key: str
    entries: tuple[tuple[Any, tuple[_Assignment, ...]], ...]


def expand(sweep: Sweep, target: SweepTarget) -> list[Point]:
    """Return the sweep's points: the grid (in file order) or the sampler's pick of it.

    Every value is coerced to the CWL type of the input it feeds, and every point owns its
    dicts and values, so changing one point never changes another. `Point.index` is the
    position in the returned list (for `random`, the draw order, not the grid cell).

    Raises:
        InputError: a key, step or parameter the workflow lacks, or a value of the wrong type.
    """
    axes = [_Resolver(sweep, target).axis(d) for d in sweep.dimensions]
    _check_collisions(sweep, axes)
    sizes = [len(axis.entries) for axis in axes]
    return [_point(i, axes, _digits(cell, sizes))
            for i, cell in enumerate(_select(sweep, math.prod(sizes)))]


def _select(sweep: Sweep, total: int) -> Sequence[int]:
    """Grid cells to run, as indices into the full grid in itertools.product order."""
    count = total if sweep.max_iterations is None else min(total, sweep.max_iterations)
    if sweep.method == "random":
        # random.sample draws without replacement and never materialises range(total).
        return random.Random(sweep.seed).sample(range(total), count)
    return range(count)


def _digits(cell: int, sizes: list[int]) -> list[int]:
    """Mixed-radix digits of `cell`, the last dimension varying fastest like itertools.product."""
    digits = []
    for size in reversed(sizes):
        cell, digit = divmod(cell, size)
        digits.append(digit)
    return digits[::-1]


def _point(index: int, axes: list[_Axis], digits: list[int]) -> Point:
    params: dict[str, Any] = {}
    inputs: dict[str, Any] = {}
    step_inputs: dict[str, dict[str, Any]] = {}
    for axis, digit in zip(axes, digits):
        param, assignments = axis.entries[digit]
        params[axis.key] = copy.deepcopy(param)
        for a in assignments:
            # deepcopy: a File mapping or a list value must not be shared between points.
            place = inputs if a.step is None else step_inputs.setdefault(a.step, {})
            place[a.name] = copy.deepcopy(a.value)
    return Point(index=index, params=params, inputs=inputs, step_inputs=step_inputs)


def _check_collisions(sweep: Sweep, axes: list[_Axis]) -> None:
    owner: dict[tuple[str | None, str], str] = {}
    for dimension, axis in zip(sweep.dimensions, axes):
        first = axis.entries[0][1]
        for a in first:
            place = (a.step, a.name)
            if place in owner:
                raise InputError(f"{_describe(a.step, a.name)} is already set by "
                                 f"'{owner[place]}'", file=sweep.file, line=dimension.line,
                                 field=dimension.key)
            owner[place] = axis.key


def _describe(step: str | None, name: str) -> str:
    return f"workflow input '{name}'" if step is None else f"step '{step}' input '{name}'"


def _names(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none"


class _Resolver:
    """Settles what each dimension feeds in the workflow, raising errors that point at a line."""

    def __init__(self, sweep: Sweep, target: SweepTarget) -> None:
        self.sweep = sweep
        self.target = target

    def error(self, message: str, line: int | None, field: str) -> InputError:
        return InputError(message, file=self.sweep.file, line=line, field=field)

    def axis(self, d: Dimension) -> _Axis:
        if d.key in self.target.workflow_inputs and not d.is_label:
            cwl_type = self.target.workflow_inputs[d.key]
            entries = []
            for v in d.values:
                typed = self.typed(v.value, cwl_type, None, d.key, v.line, d.key)
                entries.append((typed, (_Assignment(None, d.key, typed),)))
            return _Axis(d.key, tuple(entries))
        if d.listed:
            raise self.error(f"'{d.key}' is not a workflow input (inputs: "
                             f"{_names(self.target.workflow_inputs)}); a SABER label is a "
                             f"mapping with 'range' or 'values'", d.line, d.key)
        receivers = self.receivers(d)
        return _Axis(d.key, tuple((v.value, self.assign(d, v, receivers)) for v in d.values))

    def receivers(self, d: Dimension) -> dict[str, list[str]]:
        """Step -> the label's target inputs it has; every target reaches at least one step."""
        targets = list((d.parameters or {"abs": d.key}).values())
        if d.steps is None:
            candidates = list(self.target.step_inputs)
        else:
            for step, line in zip(d.steps, d.steps_lines):
                if step not in self.target.step_inputs:
                    raise self.error(f"unknown step '{step}' (steps: "
                                     f"{_names(self.target.step_inputs)})", line, f"{d.key}.steps")
            candidates = list(d.steps)
        receivers = {s: [t for t in targets if t in self.target.step_inputs[s]]
                     for s in candidates}
        for role, name in (d.parameters or {"abs": d.key}).items():
            if any(name in names for names in receivers.values()):
                continue
            where = ("no step" if d.steps is None
                     else f"none of the steps {', '.join(d.steps)}")
            if d.parameters is None:
                raise self.error(f"'{d.key}' is not a workflow input (inputs: "
                                 f"{_names(self.target.workflow_inputs)}) and {where} has an "
                                 f"input '{d.key}'", d.line, d.key)
            raise self.error(f"{where} has an input '{name}'",
                             d.parameters_lines.get(role, d.line), f"{d.key}.parameters.{role}")
        for step, line in zip(d.steps or (), d.steps_lines):
            if not receivers[step]:
                raise self.error(f"step '{step}' has none of the inputs {', '.join(targets)} "
                                 f"(its inputs: {_names(self.target.step_inputs[step])})",
                                 line, f"{d.key}.steps")
        return {s: names for s, names in receivers.items() if names}

    def assign(self, d: Dimension, v: Value,
               receivers: dict[str, list[str]]) -> tuple[_Assignment, ...]:
        raw = {name: self.tile_bound(d, v, role)
               for role, name in (d.parameters or {"abs": d.key}).items()}
        return tuple(
            _Assignment(step, name, self.typed(raw[name], self.target.step_inputs[step][name],
                                               step, name, v.line, d.key))
            for step, names in receivers.items() for name in names)

    def tile_bound(self, d: Dimension, v: Value, role: str) -> Any:
        """The value for one parameter role: v itself, or for "max" min(v + step, stop)."""
        if role != "max" or d.tile is None:
            return v.value
        bound = exact(v.value) + d.tile.step
        if bound >= d.tile.stop:
            return d.tile.stop_value
        return int(bound) if isinstance(v.value, int) else float(bound)

    def typed(self, value: Any, cwl_type: Any, step: str | None, name: str, line: int,
              field: str) -> Any:
        if cwl_type is None:  # the caller could not tell the input's type: keep YAML's
            return value
        try:
            return coerce(value, cwl_type, file=self.sweep.file, line=line, field=field)
        except InputError as e:
            raise self.error(f"{_describe(step, name)}: {e.message}", line, field) from e
