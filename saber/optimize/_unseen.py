"""A sampler wrapper that never proposes a parameter set the study has already run.

Optuna's samplers may propose a point twice: TPE and CMA-ES snap to a finite grid of listed
values, and a sampler rebuilt on resume replays its start-up draws. On a days-long study every
repeat is a lost trial. The wrapper asks the real sampler for a whole point at once (relative
sampling over every label), compares it, as the workflow would receive it, with the points
completed or running, and asks again; after a few refusals it picks an unseen grid point at
random. The loop stops before asking when no unseen point is left.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Sequence
from typing import Any

from optuna.samplers import BaseSampler

from saber.optimize._encode import Encoding

__all__ = ["UnseenSampler", "param_key", "space_size"]

_ATTEMPTS = 16  # proposals asked of the real sampler before falling back to a random unseen point
_ENUMERATE_LIMIT = 200_000  # above this many points, unseen ones are found by random probing


def param_key(params: dict[str, Any] | None) -> str:
    """One parameter set as comparable text (the exact values a workflow receives)."""
    return json.dumps(params, sort_keys=True, default=str)


def space_size(encodings: Sequence[Encoding]) -> int | None:
    """How many distinct points the labels allow; None when one of them is continuous."""
    size = 1
    for e in encodings:
        if not e.values:
            return None
        size *= len(e.values)
    return size


class UnseenSampler(BaseSampler):
    """Delegates to ``inner``; ``seen()`` gives the keys of points that must not come again."""

    def __init__(self, inner: BaseSampler, encodings: Sequence[Encoding], seen: Callable[[], set[str]],
                 seed: int) -> None:
        self.inner = inner
        self.encodings = list(encodings)
        self.seen = seen
        self.space = {e.key: e.distribution for e in self.encodings}
        self._rng = random.Random(seed)

    # Optuna calls these around every trial; the real sampler keeps its own bookkeeping.
    def before_trial(self, study, trial) -> None:
        self.inner.before_trial(study, trial)

    def after_trial(self, study, trial, state, values) -> None:
        self.inner.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.inner.reseed_rng()

    def infer_relative_search_space(self, study, trial) -> dict[str, Any]:
        return dict(self.space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        # Reached only for a label outside the loop's own (never, in saber's loop).
        return self.inner.sample_independent(study, trial, param_name, param_distribution)

    def sample_relative(self, study, trial, search_space) -> dict[str, Any]:
        if trial.system_attrs.get("fixed_params"):
            return {}  # an enqueued point (a failed trial run again): chosen already
        seen = self.seen()
        params: dict[str, Any] = {}
        for _ in range(_ATTEMPTS):
            params = self._propose(study, trial)
            if param_key(self._decode(params)) not in seen:
                return params
        return self._unseen(seen) or params

    def _propose(self, study, trial) -> dict[str, Any]:
        """One whole point from the real sampler: its joint proposal, completed label by label."""
        inner_space = self.inner.infer_relative_search_space(study, trial)
        params = dict(self.inner.sample_relative(study, trial, inner_space)) if inner_space else {}
        for e in self.encodings:
            if e.key in params:
                continue
            if e.distribution.single():  # Optuna never samples a label with one value
                params[e.key] = e.encode(e.values[0]) if e.values else e.distribution.low
            else:
                params[e.key] = self.inner.sample_independent(study, trial, e.key, e.distribution)
        return params

    def _decode(self, params: dict[str, Any]) -> dict[str, Any]:
        return {e.key: e.decode(params[e.key]) for e in self.encodings}

    def _unseen(self, seen: set[str]) -> dict[str, Any] | None:
        """A random point of a finite space that is not in ``seen`` (in Optuna's terms)."""
        size = space_size(self.encodings)
        if size is None:
            return None  # a continuous label: a repeat is (all but) impossible; keep the proposal
        axes = [e.values for e in self.encodings]
        if size > _ENUMERATE_LIMIT:
            for _ in range(10_000):
                point = [self._rng.choice(values) for values in axes]
                if (found := self._encoded(point, seen)) is not None:
                    return found
            return None
        unseen = [p for p in itertools.product(*axes) if self._encoded(list(p), seen) is not None]
        return self._encoded(list(self._rng.choice(unseen)), seen) if unseen else None

    def _encoded(self, point: list[Any], seen: set[str]) -> dict[str, Any] | None:
        exact = {e.key: v for e, v in zip(self.encodings, point)}
        if param_key(exact) in seen:
            return None
        return {e.key: e.encode(exact[e.key]) for e in self.encodings}
