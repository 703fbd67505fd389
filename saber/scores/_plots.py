"""Optimization plots of one study, as self-contained HTML (plotly) and PNG (matplotlib).

Both work offline and without a display: the HTML embeds plotly.js, the PNG is drawn by
matplotlib's Agg backend (no kaleido, no browser).
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

__all__ = ["PlotFiles", "write_plots"]


@dataclass
class PlotFiles:
    """What ``write_plots`` wrote, and why it left any plot out."""

    written: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def write_plots(study: optuna.Study, folder: Path) -> PlotFiles:
    """Optimization history, parameter slice and parameter importance of ``study`` in
    ``folder`` as ``<plot>.html`` and ``<plot>.png`` (``<plot>-<step>.*``, one set per scored
    step, for a study of several objectives); plots the trials cannot support are skipped with a
    reason."""
    import matplotlib

    # Agg before pyplot draws anything: a DISPLAY in the environment must not open windows.
    matplotlib.use("Agg")
    from optuna.trial import TrialState

    out = PlotFiles()
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        out.skipped.append(f"no plots: study '{study.study_name}' has no complete trial yet")
        return out
    folder.mkdir(parents=True, exist_ok=True)
    plots = ["history"]
    if any(t.params for t in complete):
        plots.append("slice")
    else:
        out.skipped.append("slice plot skipped: the trials have no parameters")
    reason = _no_importance(complete)
    if reason:
        out.skipped.append(f"importance plot skipped: {reason}")
    else:
        plots.append("importance")
    for target in _targets(study):
        for plot in plots:
            _write(study, folder, plot, out, target)
    return out


@dataclass(frozen=True)
class _Target:
    """One objective to plot: Optuna plots a study of several only given which one."""

    index: int | None = None  # None: the study's only objective
    step: str = ""
    maximize: bool = True

    @property
    def suffix(self) -> str:
        """Of the file names: "" or "-<step>"."""
        return f"-{self.step}" if self.index is not None else ""

    def options(self, plot: str) -> dict[str, Any]:
        """Optuna's target= and target_name= for ``plot``."""
        if self.index is None:
            return {}
        # Optuna ranks importance by how parameters lead to low target values; it knows the
        # direction of a study's own objective, not of a target.
        sign = -1.0 if plot == "importance" and self.maximize else 1.0
        return {"target": functools.partial(_value, self.index, sign), "target_name": f"{self.step} score"}


def _targets(study: optuna.Study) -> list[_Target]:
    from optuna.study import StudyDirection

    if len(study.directions) == 1:
        return [_Target()]
    steps = study.user_attrs.get("saber_objective")
    if not isinstance(steps, list) or len(steps) != len(study.directions):
        steps = [f"objective{i}" for i in range(len(study.directions))]
    return [_Target(i, step, direction == StudyDirection.MAXIMIZE)
            for i, (step, direction) in enumerate(zip(steps, study.directions))]


def _value(index: int, sign: float, trial: Any) -> float:
    return sign * trial.values[index]


def _no_importance(complete: list[Any]) -> str | None:
    """Why parameter importance cannot be computed from these complete trials, if it cannot."""
    if len(complete) < 2:
        return "it needs at least 2 complete trials"
    # Optuna weighs only the parameters every complete trial has.
    shared = set.intersection(*(set(t.params) for t in complete))
    if not any(len({repr(t.params[p]) for t in complete}) > 1 for p in shared):
        return "no parameter varies across the complete trials"
    return None


def _write(study: optuna.Study, folder: Path, name: str, out: PlotFiles, target: _Target) -> None:
    import matplotlib.pyplot as plt
    import numpy as np
    import optuna.visualization as vis
    import optuna.visualization.matplotlib as vis_mpl
    from optuna.exceptions import ExperimentalWarning

    plot = {"history": "plot_optimization_history", "slice": "plot_slice",
            "importance": "plot_param_importances"}[name]
    try:
        html, png = folder / f"{name}{target.suffix}.html", folder / f"{name}{target.suffix}.png"
        with warnings.catch_warnings():
            # Given a target, Optuna warns that importance is for low values: _Target saw to it.
            warnings.filterwarnings("ignore", "PedAnovaImportanceEvaluator computes", UserWarning)
            getattr(vis, plot)(study, **target.options(name)).write_html(html, include_plotlyjs=True)
            out.written.append(html)
            warnings.simplefilter("ignore", ExperimentalWarning)  # optuna.visualization.matplotlib
            # A parameter with one value makes matplotlib warn about equal axis limits; it copes.
            warnings.filterwarnings("ignore", "Attempting to set identical", UserWarning)
            axes = getattr(vis_mpl, plot)(study, **target.options(name))
        figure = np.asarray(axes).ravel()[0].figure  # plot_slice gives an array of axes
        figure.savefig(png, bbox_inches="tight", dpi=120)
        plt.close(figure)
        out.written.append(png)
    except ValueError as e:  # what Optuna raises for trials a plot cannot use
        out.skipped.append(f"{name} plot skipped: {e}")
