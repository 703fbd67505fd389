"""The data a sweep file becomes: loaded shape (Sweep), what it is checked against, and points."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, overload

__all__ = ["SweepTarget", "Point", "Sweep", "Dimension", "Value", "Tile", "Space", "Steps", "Method",
           "METHODS", "GRID_METHODS", "SPACE_KINDS", "MAX_GRID_POINTS"]

# Every grid point is a DAG run; more than this is a typo (a step of 0.0001) or a search a
# sampler should do. The count is arithmetic, so a larger grid is refused before any point exists.
MAX_GRID_POINTS = 1_000_000

Method = Literal["grid", "batch-grid", "random", "tpe", "cmaes"]
METHODS: tuple[Method, ...] = ("grid", "batch-grid", "random", "tpe", "cmaes")
GRID_METHODS: tuple[Method, ...] = ("grid", "batch-grid")  # visit a finite grid, each point once
SPACE_KINDS = ("uniform", "loguniform", "int")  # `choice` is a list of values: it needs no Space


@dataclass(frozen=True)
class SweepTarget:
    """What a sweep is checked against; built by the caller from the compiled workflow."""

    workflow_inputs: Mapping[str, Any]  # input id -> CWL type
    step_inputs: Mapping[str, Mapping[str, Any]]  # step id -> {input id -> CWL type or None}


@dataclass(frozen=True)
class Point:
    """One job of the sweep: its values by label, by workflow input and by step input."""

    index: int
    params: dict[str, Any]  # label -> value, for tables
    inputs: dict[str, Any]  # workflow input id -> value
    step_inputs: dict[str, dict[str, Any]]  # step id -> {step input id -> value}


@dataclass(frozen=True)
class Value:
    """One value a dimension takes, with the 1-based line it came from."""

    value: Any  # plain Python: int, float, str, bool, None, dict, list
    line: int


class Steps(Sequence[Value]):
    """The values ``start + i * step`` of a range (i < count), made on demand: a million-value
    range costs nothing until a point needs one of its values."""

    __slots__ = ("start", "step", "count", "ints", "line")

    def __init__(self, start: Decimal, step: Decimal, count: int, *, ints: bool, line: int) -> None:
        self.start, self.step, self.count, self.ints, self.line = start, step, count, ints, line

    def __len__(self) -> int:
        return self.count

    @overload
    def __getitem__(self, i: int) -> Value: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Value, ...]: ...

    def __getitem__(self, i):
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(self.count)))
        if i < 0:
            i += self.count
        if not 0 <= i < self.count:
            raise IndexError(i)
        # start + i*step, never a running sum, so no error accumulates along the range.
        n = self.start + i * self.step
        return Value(int(n) if self.ints else float(n), self.line)

    def __iter__(self) -> Iterator[Value]:
        return (self[i] for i in range(self.count))

    def position(self, value: Any) -> int | None:
        """The index of the value ``value`` (arithmetic, not a search), or None."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return None
        i = round((Decimal(repr(value)) - self.start) / self.step)
        return i if 0 <= i < self.count and self[i].value == value else None

    def _key(self) -> tuple:
        return (self.start, self.step, self.count, self.ints, self.line)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Steps):
            return self._key() == other._key()
        return isinstance(other, Sequence) and len(other) == self.count and all(
            a == b for a, b in zip(self, other))

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Steps(start={self.start}, step={self.step}, count={self.count})"


@dataclass(frozen=True)
class Tile:
    """A numeric range's step and stop, kept exact so a min/max tile ends at min(v+step, stop)."""

    step: Decimal
    stop: Decimal
    stop_value: int | float  # as written, for the last tile's bound


@dataclass(frozen=True)
class Space:
    """A numeric search space written as `uniform`, `loguniform` or `int` {low, high[, step]}.

    Bounds are inclusive, as in Optuna. `int` spaces are finite and also listed in the
    dimension's values (so grids can run them); `uniform` and `loguniform` are continuous.
    """

    kind: str
    low: int | float
    high: int | float
    step: int | None = None
    line: int = 1

    @property
    def continuous(self) -> bool:
        return self.kind != "int"


@dataclass(frozen=True)
class Dimension:
    """One top-level key of the sweep file: a SABER label or a plain workflow input.

    Which of the two a bare `{range: …}` or `{values: …}` mapping is depends on the workflow, so
    it is settled by `expand`: a workflow input of that name makes it plain, otherwise it is a
    label whose value goes to the step inputs of that name.
    """

    key: str
    line: int
    values: Sequence[Value]  # a tuple, or Steps for a range or an int space
    listed: bool  # written as a bare list: only a workflow input can take it
    parameters: Mapping[str, str] | None = None  # "min"/"max"/"abs" -> step input name
    parameters_lines: Mapping[str, int] = field(default_factory=dict)
    steps: tuple[str, ...] | None = None  # None: every step with such an input
    steps_lines: tuple[int, ...] = ()
    tile: Tile | None = None  # set when the values came from {start, stop, step}
    space: Space | None = None  # set for uniform / loguniform / int; values empty if continuous

    @property
    def is_label(self) -> bool:
        """True when the file itself says it is a SABER label (parameters or steps given)."""
        return self.parameters is not None or self.steps is not None


@dataclass(frozen=True)
class Sweep:
    """A sweep file whose shape is valid; `expand` checks it against a workflow."""

    file: str
    dimensions: tuple[Dimension, ...] = ()
    method: Method = "grid"
    max_iterations: int | None = None
    batch_size: int | None = None  # trials (DAG runs) in flight per round
    seed: int = 0
    direction: str = "maximize"
    objective: str | None = None  # the scored step whose score is optimized
    max_time: float | None = None  # seconds of wall time before no new round starts
    retries: int | None = None  # tries again of a failed step (default for every step without its own)
    retry_delay: float | None = None  # seconds between tries
    notify: tuple[str, ...] = ()  # webhook URLs told when the run ends
    sampler_line: int | None = None
    lines: Mapping[str, int] = field(default_factory=dict)  # sampler key -> line, for errors

    @property
    def continuous(self) -> list[Dimension]:
        """Dimensions with no finite list of values (a grid cannot run them)."""
        return [d for d in self.dimensions if d.space is not None and d.space.continuous]
