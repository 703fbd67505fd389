"""Parameter importance and parallel coordinates for the study page, from the complete trials
StoreReader.plots() already read (parameters as the user wrote them, one objective's values).

Importance is Optuna's PED-ANOVA evaluator (the one of Optuna's evaluators that needs no
scikit-learn) run on an in-memory study rebuilt from those rows: saber's parameters need not be
Optuna parameters (fixed inputs and swept step inputs live in ``saber_params`` only), and the
rows are read already, so the store is not loaded a second time through Optuna's API.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["IMPORTANCE_TRIALS", "PARALLEL_LINES", "Row", "importance", "parallel"]

# Importance over all of a 10,000-trial study took 0.95 s here (building the in-memory study is
# most of it), over its latest 2,000 trials 0.15 s: a page asks for it on every visit, and the
# latest trials are those the sampler learnt from last.
IMPORTANCE_TRIALS = 2000
# Numbers with at most this many distinct values are a grid's listed values (see _axis).
FEW_VALUES = 16
# Lines a browser draws in a parallel-coordinates plot and a person can still read.
PARALLEL_LINES = 1000


@dataclass(frozen=True)
class Row:
    """One complete trial with a finite value of the objective plotted."""

    number: int
    params: dict[str, Any]
    value: float


def importance(rows: Sequence[Row], varied: Sequence[str], direction: str) -> dict[str, Any]:
    """Each varied parameter's share of the importance (summing to 1), most important first,
    over the latest IMPORTANCE_TRIALS rows; with fewer than 2 rows or no varied parameter, a note
    and no parameters."""
    used = sorted(rows, key=lambda r: r.number)[-IMPORTANCE_TRIALS:]
    out: dict[str, Any] = {"method": "Optuna PED-ANOVA, top 25%", "trials": len(used), "of": len(rows),
                           "params": [], "values": [], "note": None}
    if len(used) < 2:
        out["note"] = "Importance needs at least 2 complete trials."
        return out
    importances = _ped_anova(used, varied, direction)
    if not importances:
        out["note"] = "No parameter varies: no importance to show."
        return out
    out["params"], out["values"] = list(importances), list(importances.values())
    if len(used) < len(rows):
        out["note"] = f"Importance over the latest {len(used):,} of {len(rows):,} complete trials."
    return out


def parallel(rows: Sequence[Row], varied: Sequence[str], direction: str, axis: str) -> dict[str, Any]:
    """One axis per varied parameter, then the score's; a categorical parameter is an integer
    axis with its values as tick labels. Of more than PARALLEL_LINES rows, the best ones."""
    sign = -1.0 if direction == "maximize" else 1.0
    best = sorted(rows, key=lambda r: (sign * r.value, r.number))[:PARALLEL_LINES]
    drawn = sorted(best, key=lambda r: r.number)
    dimensions = []
    for p in varied:
        values = [r.params.get(p) for r in drawn]
        present = [v for v in values if v is not None]
        if _numeric(present):
            dimensions.append({"label": p, "values": values})
            continue
        labels = sorted({_text(v) for v in present})
        code = {t: i for i, t in enumerate(labels)}
        dimensions.append({"label": p, "values": [None if v is None else code[_text(v)] for v in values],
                           "tickvals": list(range(len(labels))), "ticktext": labels})
    dimensions.append({"label": axis, "values": [r.value for r in drawn]})
    note = None
    if len(drawn) < len(rows):
        note = f"The best {len(drawn):,} of {len(rows):,} complete trials are drawn."
    return {"dimensions": dimensions, "number": [r.number for r in drawn], "lines": len(drawn), "of": len(rows),
            "note": note}


def _ped_anova(rows: Sequence[Row], varied: Sequence[str], direction: str) -> dict[str, float]:
    """Optuna's PED-ANOVA importances (summing to 1) of the parameters in ``varied`` that vary
    within ``rows``, most important first; {} if none does."""
    import optuna
    from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances
    from optuna.storages import InMemoryStorage
    from optuna.trial import create_trial

    axes = {p: axis for p in varied if (axis := _axis([r.params[p] for r in rows if p in r.params]))}
    if not axes:
        return {}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trials = []
    for r in rows:
        mine = [p for p in axes if p in r.params]
        trials.append(create_trial(params={p: axes[p][1](r.params[p]) for p in mine},
                                   distributions={p: axes[p][0] for p in mine}, value=r.value))
    study = optuna.create_study(storage=InMemoryStorage(), direction=direction)
    study.add_trials(trials)
    # The top quarter, not Optuna's default top tenth: see _axis for the made studies.
    evaluator = PedAnovaImportanceEvaluator(target_quantile=0.25)
    with warnings.catch_warnings():
        # "importances will be equal" for studies too small to tell: the values say as much.
        warnings.simplefilter("ignore")
        return get_param_importances(study, evaluator=evaluator, normalize=True)


def _axis(values: list[Any]) -> tuple[Any, Callable[[Any], Any]] | None:
    """The Optuna distribution a parameter's values span and the function giving a value's
    place in it; None when they hold one value only (within the trials used).

    A few distinct numbers (a grid's listed values) are their ranks. On 240 made studies (20 or
    40 trials, four parameters: a range, 5, 3 and 2 listed values, one of them deciding the
    score) the deciding parameter came first in 235 this way with the top quarter; in 185 as
    ranges with the top tenth (PED-ANOVA's density over 50 steps between two listed values makes
    a noise parameter look important), in 205 as unordered categories with the top quarter.
    """
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if _numeric(values):
        distinct = sorted(set(values))
        if len(distinct) < 2:
            return None
        if len(distinct) <= FEW_VALUES:
            rank = {v: i for i, v in enumerate(distinct)}
            return IntDistribution(0, len(distinct) - 1), rank.__getitem__
        if all(isinstance(v, int) for v in values):
            return IntDistribution(distinct[0], distinct[-1]), _same
        return FloatDistribution(float(distinct[0]), float(distinct[-1])), float
    choices = sorted({_text(v) for v in values})
    return (CategoricalDistribution(choices), _text) if len(choices) > 1 else None


def _same(value: Any) -> Any:
    return value


def _numeric(values: list[Any]) -> bool:
    return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _text(value: Any) -> str:
    """A value as a category's label: text as written, anything else as its JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
