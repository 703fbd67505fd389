"""How each sweep label appears to Optuna: a distribution, and the mapping between Optuna's
parameter values and the exact values the workflow receives.

Ordered labels (numeric ranges, `int` spaces, `uniform`, `loguniform`) become numeric
distributions so model-based samplers (TPE, CMA-ES) can learn which way is better; other
lists become categorical. A sampled value is snapped back to the exact value the sweep file
wrote (Optuna computes ``low + k * step`` in floating point: 0.30000000000000004, not 0.3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from saber.sweep import SearchSpace, Steps

__all__ = ["Encoding", "encodings"]

_PRIMITIVE = (type(None), bool, int, float, str)


@dataclass(frozen=True)
class Encoding:
    """One label: its Optuna distribution and the value mappings in both directions."""

    key: str
    distribution: Any  # optuna.distributions.BaseDistribution
    values: Sequence[Any]  # listed values (empty for a continuous space; a range's made on demand)
    by_index: bool = False  # categorical over indices: values Optuna cannot store (File, lists)

    @property
    def numeric(self) -> bool:
        from optuna.distributions import CategoricalDistribution

        return not isinstance(self.distribution, CategoricalDistribution)

    def decode(self, param: Any) -> Any:
        """Optuna's value -> the exact value to run."""
        if self.by_index:
            return self.values[int(param)]
        if self.numeric and isinstance(self.values, _RangeLabels):
            return self.values.nearest(param)
        if self.numeric and self.values:
            return min(self.values, key=lambda v: abs(v - param))
        return param

    def encode(self, value: Any) -> Any:
        """An exact value -> Optuna's value (to enqueue a chosen point)."""
        return self.values.index(value) if self.by_index else value


def encodings(space: SearchSpace) -> list[Encoding]:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out = []
    for dim, axis in zip(space.sweep.dimensions, space.axes):
        s = dim.space
        if isinstance(dim.values, Steps) and len(dim.values) > 1:
            out.append(_range_encoding(dim.key, dim.values, axis.entries))
            continue
        values = tuple(v for v, _ in axis.entries)
        if s is not None and s.continuous:
            dist = FloatDistribution(float(s.low), float(s.high), log=s.kind == "loguniform")
        elif len(values) > 1 and (step := _arithmetic_step(values)) is not None:
            if all(isinstance(v, int) for v in values):
                dist = IntDistribution(values[0], values[-1], step=int(step))
            else:
                dist = FloatDistribution(float(values[0]), float(values[-1]), step=step)
        elif all(isinstance(v, _PRIMITIVE) for v in values) and len(set(map(repr, values))) == len(values):
            dist = CategoricalDistribution(values)
        else:
            out.append(Encoding(dim.key, CategoricalDistribution(tuple(range(len(values)))), values, True))
            continue
        out.append(Encoding(dim.key, dist, values))
    return out


class _RangeLabels(Sequence):
    """The label values of a range, made on demand: a study over a million-value range neither
    lists it nor scans it to snap a sampled value."""

    def __init__(self, steps: Steps, entries: Sequence) -> None:
        self.steps, self.entries = steps, entries

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(len(self))))
        return self.entries[i][0]

    def index(self, value: Any, *args) -> int:
        i = self.steps.position(value)
        if i is None:
            raise ValueError(f"{value!r} is not in the range")
        return i

    def nearest(self, param: float) -> Any:
        """The listed value closest to ``param`` (its index computed, then its neighbours)."""
        guess = round((param - float(self.steps.start)) / float(self.steps.step))
        near = {min(max(i, 0), len(self) - 1) for i in (guess - 1, guess, guess + 1)}
        return min((self[i] for i in sorted(near)), key=lambda v: abs(v - param))


def _range_encoding(key: str, steps: Steps, entries: Sequence) -> Encoding:
    """A range's distribution from its start, step and count, as `encodings` gives for the same
    values listed (a resumed study must see the same distribution)."""
    from optuna.distributions import FloatDistribution, IntDistribution

    values = _RangeLabels(steps, entries)
    first, last = values[0], values[-1]
    if isinstance(first, int) and isinstance(last, int) and steps.ints:
        return Encoding(key, IntDistribution(first, last, step=int(steps.step)), values)
    step = float(f"{float(steps.step):.12g}")
    return Encoding(key, FloatDistribution(float(first), float(last), step=step), values)


def _arithmetic_step(values: tuple[Any, ...]) -> float | int | None:
    """The common step of an increasing, evenly spaced list of numbers (a range), else None."""
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return None
    steps = [b - a for a, b in zip(values, values[1:])]
    if steps[0] <= 0 or not all(math.isclose(s, steps[0], rel_tol=1e-9, abs_tol=1e-12) for s in steps):
        return None
    if all(isinstance(v, int) for v in values):
        return steps[0]
    # The step as the decimal text it most likely was (0.1, not 0.09999999999999998).
    return float(f"{steps[0]:.12g}")
