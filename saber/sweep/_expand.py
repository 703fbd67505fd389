"""Checking a loaded sweep against a workflow and expanding it into typed, independent points."""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from saber.cwl._types import coerce
from saber.errors import InputError
from saber.sweep._size import check_size
from saber.sweep._model import Dimension, Point, Steps, Sweep, SweepTarget, Value
from saber._yaml import exact

__all__ = ["expand", "iter_points", "search_space", "SearchSpace"]


@dataclass(frozen=True)
class _Assignment:
    step: str | None  # None: a workflow input
    name: str
    value: Any


@dataclass(frozen=True)
class _Axis:
    """A dimension resolved against the workflow: per listed value, its label value and
    assignments; ``assign`` gives the assignments of any value of a continuous space."""

    key: str
    entries: Sequence[tuple[Any, tuple[_Assignment, ...]]]
    assign: Callable[[Any], tuple[_Assignment, ...]]
    positions: Mapping[Any, int] = field(default_factory=dict)  # _hashable(label) -> index, if listed

    def find(self, value: Any) -> tuple[_Assignment, ...]:
        """The assignments of a label value: a listed one's, found without a scan of the list
        (a scan per point made long ranges quadratic)."""
        if isinstance(self.entries, _Entries):
            i = self.entries.position(value)
        else:
            i = self.positions.get(_hashable(value))
        return self.entries[i][1] if i is not None else self.assign(value)


class _Entries(Sequence):
    """(label value, assignments) of each value of a range, made on demand from its Steps."""

    def __init__(self, values: Steps, make: Callable[[Value], tuple[Any, tuple[_Assignment, ...]]]) -> None:
        self.values, self.make = values, make

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(len(self))))
        return self.make(self.values[i])

    def position(self, value: Any) -> int | None:
        return self.values.position(value)


def _hashable(value: Any) -> Any:
    """A key equal for equal values (1 and 1.0 alike, as list.index found them); lists and
    mappings by their contents."""
    if isinstance(value, dict):
        return ("dict", tuple(sorted((str(k), _hashable(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return ("list", tuple(_hashable(v) for v in value))
    return value


@dataclass(frozen=True)
class SearchSpace:
    """A sweep checked against a workflow: what a sampler chooses from, and how a choice of
    one value per label becomes a Point (typed job-order values for inputs and steps)."""

    sweep: Sweep
    axes: tuple[_Axis, ...]

    @property
    def grid_size(self) -> int | None:
        """Points of the full grid (a product of sizes: nothing is listed); None when a
        dimension is continuous."""
        if self.sweep.continuous:
            return None
        return math.prod(len(axis.entries) for axis in self.axes)

    def cells(self, *, random_order: bool = False, limit: int | None = None,
              seed: int = 0) -> Iterator[int]:
        """Grid cell numbers, lazily: in file order, or drawn without replacement."""
        total = self.grid_size
        if total is None:
            raise self.sweep_error("a grid needs a finite list of values for every label")
        count = total if limit is None else min(total, limit)
        # random.sample draws without replacement and never materialises range(total).
        return iter(random.Random(seed).sample(range(total), count) if random_order else range(count))

    def iter_grid(self, *, random_order: bool = False, limit: int | None = None,
                  seed: int = 0) -> Iterator[dict[str, Any]]:
        """Label values of grid points, one at a time (see `cells`)."""
        for cell in self.cells(random_order=random_order, limit=limit, seed=seed):
            yield self.labels(cell)

    def grid(self, *, random_order: bool = False, limit: int | None = None,
             seed: int = 0) -> list[dict[str, Any]]:
        """Label values of grid points, as a list; `iter_grid` gives them one at a time."""
        return list(self.iter_grid(random_order=random_order, limit=limit, seed=seed))

    def labels(self, cell: int) -> dict[str, Any]:
        """The label values of grid cell ``cell`` (a mixed-radix number, the last label fastest)."""
        sizes = [len(axis.entries) for axis in self.axes]
        return {axis.key: copy.deepcopy(axis.entries[d][0]) for axis, d in zip(self.axes, _digits(cell, sizes))}

    def point_at(self, index: int, cell: int) -> Point:
        """The point of grid cell ``cell``, numbered ``index``: no search for its values."""
        sizes = [len(axis.entries) for axis in self.axes]
        return self._point(index, [(axis.key, *axis.entries[d]) for axis, d in
                                   zip(self.axes, _digits(cell, sizes))])

    def sweep_error(self, message: str) -> InputError:
        d = self.sweep.continuous[0] if self.sweep.continuous else None
        return InputError(f"{message}; '{d.key}' is a {d.space.kind} space" if d else message,
                          file=self.sweep.file, line=d.space.line if d else self.sweep.sampler_line,
                          field=d.key if d else "sampler")

    def point(self, index: int, chosen: dict[str, Any]) -> Point:
        """The point for one value per label (listed values, or any value of a continuous space)."""
        return self._point(index, [(axis.key, chosen[axis.key], axis.find(chosen[axis.key]))
                                   for axis in self.axes])

    @staticmethod
    def _point(index: int, chosen: list[tuple[str, Any, tuple[_Assignment, ...]]]) -> Point:
        params: dict[str, Any] = {}
        inputs: dict[str, Any] = {}
        step_inputs: dict[str, dict[str, Any]] = {}
        for key, value, assignments in chosen:
            params[key] = copy.deepcopy(value)
            for a in assignments:
                # deepcopy: a File mapping or a list value must not be shared between points.
                place = inputs if a.step is None else step_inputs.setdefault(a.step, {})
                place[a.name] = copy.deepcopy(a.value)
        return Point(index=index, params=params, inputs=inputs, step_inputs=step_inputs)


def search_space(sweep: Sweep, target: SweepTarget) -> SearchSpace:
    """Check `sweep` against the workflow: every key, step and parameter must exist and every
    listed value (and the bounds of every continuous space) must fit its input's CWL type.

    Raises:
        InputError: a key, step or parameter the workflow lacks, or a value of the wrong type.
    """
    check_size(sweep)  # a Sweep made in code, not by load_sweep, is checked too
    axes = tuple(_Resolver(sweep, target).axis(d) for d in sweep.dimensions)
    _check_collisions(sweep, axes)
    return SearchSpace(sweep, axes)


def expand(sweep: Sweep, target: SweepTarget) -> list[Point]:
    """Return the sweep's points: the grid (in file order) or the sampler's pick of it.

    Every value is coerced to the CWL type of the input it feeds, and every point owns its
    dicts and values, so changing one point never changes another. `Point.index` is the
    position in the returned list (for `random`, the draw order, not the grid cell).

    Raises:
        InputError: a key, step or parameter the workflow lacks, a value of the wrong type, or
        a continuous space (which has no grid).
    """
    return list(iter_points(sweep, target))


def iter_points(sweep: Sweep, target: SweepTarget) -> Iterator[Point]:
    """`expand`'s points one at a time: the sweep is checked now, each point made when asked for."""
    space = search_space(sweep, target)
    cells = space.cells(random_order=sweep.method == "random", limit=sweep.max_iterations, seed=sweep.seed)
    return (space.point_at(i, cell) for i, cell in enumerate(cells))


def _digits(cell: int, sizes: list[int]) -> list[int]:
    """Mixed-radix digits of `cell`, the last dimension varying fastest like itertools.product."""
    digits = []
    for size in reversed(sizes):
        cell, digit = divmod(cell, size)
        digits.append(digit)
    return digits[::-1]


def _check_collisions(sweep: Sweep, axes: tuple[_Axis, ...]) -> None:
    owner: dict[tuple[str | None, str], str] = {}
    for dimension, axis in zip(sweep.dimensions, axes):
        first = axis.entries[0][1] if axis.entries else axis.assign(dimension.space.low)
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
        plain_input = d.key in self.target.workflow_inputs and not d.is_label
        default_line = d.space.line if d.space else d.line
        if plain_input:
            cwl_type = self.target.workflow_inputs[d.key]

            def assign(value: Any, line: int = default_line) -> tuple[_Assignment, ...]:
                return (_Assignment(None, d.key, self.typed(value, cwl_type, None, d.key, line, d.key)),)
        else:
            if d.listed:
                raise self.error(f"'{d.key}' is not a workflow input (inputs: "
                                 f"{_names(self.target.workflow_inputs)}); a SABER label is a "
                                 f"mapping with 'range' or 'values'", d.line, d.key)
            receivers = self.receivers(d)

            def assign(value: Any, line: int = default_line) -> tuple[_Assignment, ...]:
                return self.assign(d, Value(value, line), receivers)
        def entry(v: Value) -> tuple[Any, tuple[_Assignment, ...]]:
            assignments = assign(v.value, v.line)
            # A plain input's label value is the typed value (an int input given 2.0 shows 2).
            return (assignments[0].value if plain_input else v.value), assignments

        if d.space is not None and d.space.continuous:
            assign(d.space.low)  # the bounds must fit the input's type too (an int input, say)
            assign(d.space.high)
        if isinstance(d.values, Steps):
            # A range's values differ only in size and in being whole: if the first two and the
            # last fit the input's type, every one does, so the rest are typed when used.
            for i in {0, min(1, len(d.values) - 1), len(d.values) - 1}:
                entry(d.values[i])
            return _Axis(d.key, _Entries(d.values, entry), assign)
        entries = tuple(entry(v) for v in d.values)
        positions: dict[Any, int] = {}
        for i, (label, _) in enumerate(entries):
            positions.setdefault(_hashable(label), i)
        return _Axis(d.key, entries, assign, positions)

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
