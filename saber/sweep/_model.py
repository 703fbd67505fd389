"""The data a sweep file becomes: loaded shape (Sweep), what it is checked against, and points."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

__all__ = ["SweepTarget", "Point", "Sweep", "Dimension", "Value", "Tile", "Space", "Method", "METHODS",
           "GRID_METHODS", "SPACE_KINDS"]

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
    values: tuple[Value, ...]
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
    sampler_line: int | None = None
    lines: Mapping[str, int] = field(default_factory=dict)  # sampler key -> line, for errors

    @property
    def continuous(self) -> list[Dimension]:
        """Dimensions with no finite list of values (a grid cannot run them)."""
        return [d for d in self.dimensions if d.space is not None and d.space.continuous]
