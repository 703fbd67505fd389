"""Optimization plots of one study, as HTML (plotly) and PNG (matplotlib).

Both work offline and without a display: the HTML pages load one plotly.js written beside them
(not a CDN, not a copy of several MB in every page), the PNG is drawn by matplotlib's Agg
backend (no kaleido, no browser). Only the parameters that vary are drawn, and the objective's
axis names the scored step and its direction.
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

PLOTLY_JS = "plotly.min.js"  # beside the pages, which load it by this relative path


@dataclass
class PlotFiles:
    """What ``write_plots`` wrote, and why it left any plot out."""

    written: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def write_plots(study: optuna.Study, folder: Path) -> PlotFiles:
    """Optimization history, parameter slice and parameter importance of ``study`` in
    ``folder`` as ``<plot>.html`` and ``<plot>.png`` (``<plot>-<step>.*``, one set per scored
    step, for a study of several objectives), and the pages' plotly.js; plots the trials cannot
    support, and parameters with one value, are left out with a reason."""
    import matplotlib

    # Agg before pyplot draws anything: a DISPLAY in the environment must not open windows.
    matplotlib.use("Agg")
    from optuna.trial import TrialState

    from saber.scores._report import unscored

    out = PlotFiles()
    if unscored(study.user_attrs):
        out.skipped.append(f"no plots: '{study.study_name}' is a plain sweep (its workflow has no scored step)")
        return out
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        out.skipped.append(f"no plots: study '{study.study_name}' has no complete trial yet")
        return out
    folder.mkdir(parents=True, exist_ok=True)
    plots = _plots(complete, out)
    for target in _targets(study):
        for plot, params in plots.items():
            _write(study, folder, plot, out, target, params)
    if any(path.suffix == ".html" for path in out.written):
        _share_plotly_js(folder, out)
    return out


def _plots(complete: list[Any], out: PlotFiles) -> dict[str, list[str] | None]:
    """The plots to draw, each with the parameters it draws (None: the history draws none),
    noting in ``out`` what is left out and why."""
    plots: dict[str, list[str] | None] = {"history": None}
    names = sorted({name for t in complete for name in t.params})
    if not names:
        out.skipped.append("slice and importance plots skipped: the trials have no parameters")
        return plots
    # A fixed input (one value in every trial) would draw a flat slice and an importance of 0.
    varied = [name for name in names if len({repr(t.params[name]) for t in complete if name in t.params}) > 1]
    fixed = ", ".join(name for name in names if name not in varied)
    if not varied:
        out.skipped.append("slice and importance plots skipped: no parameter varies across the complete "
                           f"trials (one value: {fixed})")
        return plots
    if fixed:
        out.skipped.append(f"fixed inputs not drawn (one value in all complete trials): {fixed}")
    plots["slice"] = varied
    # Optuna weighs only trials that have every parameter it is given.
    shared = [name for name in varied if all(name in t.params for t in complete)]
    if shared:
        plots["importance"] = shared
    else:
        out.skipped.append("importance plot skipped: no varied parameter is in every complete trial")
    return plots


def _share_plotly_js(folder: Path, out: PlotFiles) -> None:
    """plotly.js once in ``folder`` for all its pages. One left by another plotly version is
    replaced: a page needs the plotly.js it was drawn for; a current one is left untouched."""
    from plotly.offline import get_plotlyjs

    path, source = folder / PLOTLY_JS, get_plotlyjs().encode()
    if path.is_file() and path.read_bytes() == source:
        return
    path.write_bytes(source)
    out.written.append(path)


@dataclass(frozen=True)
class _Target:
    """One objective to plot: Optuna plots a study of several only given which one."""

    index: int | None = None  # None: the study's only objective
    step: str = "objective"
    maximize: bool = True

    @property
    def suffix(self) -> str:
        """Of the file names: "" or "-<step>"."""
        return f"-{self.step}" if self.index is not None else ""

    @property
    def name(self) -> str:
        """Of the objective's axis: "evaluate score (maximize)" rather than Optuna's "Objective Value"."""
        return f"{self.step} score ({'maximize' if self.maximize else 'minimize'})"

    def options(self, plot: str) -> dict[str, Any]:
        """Optuna's target= and target_name= for ``plot``."""
        if self.index is None:
            return {"target_name": self.name}
        # Optuna ranks importance by how parameters lead to low target values; it knows the
        # direction of a study's own objective, not of a target.
        sign = -1.0 if plot == "importance" and self.maximize else 1.0
        return {"target": functools.partial(_value, self.index, sign), "target_name": self.name}


def _targets(study: optuna.Study) -> list[_Target]:
    """One per objective, named by its scored step (the optimizer's ``saber_objective``: the
    step, or the steps in the objectives' order)."""
    from optuna.study import StudyDirection

    steps = study.user_attrs.get("saber_objective")
    maximize = [direction == StudyDirection.MAXIMIZE for direction in study.directions]
    if len(maximize) == 1:
        return [_Target(step=steps if isinstance(steps, str) and steps else "objective", maximize=maximize[0])]
    if not isinstance(steps, list) or len(steps) != len(maximize):
        steps = [f"objective{i}" for i in range(len(maximize))]
    return [_Target(i, step, up) for i, (step, up) in enumerate(zip(steps, maximize))]


def _value(index: int, sign: float, trial: Any) -> float:
    return sign * trial.values[index]


def _write(study: optuna.Study, folder: Path, name: str, out: PlotFiles, target: _Target,
           params: list[str] | None) -> None:
    import matplotlib.pyplot as plt
    import numpy as np
    import optuna.visualization as vis
    import optuna.visualization.matplotlib as vis_mpl
    from optuna.exceptions import ExperimentalWarning

    plot = {"history": "plot_optimization_history", "slice": "plot_slice",
            "importance": "plot_param_importances"}[name]
    options = target.options(name) | ({} if params is None else {"params": params})
    try:
        html, png = folder / f"{name}{target.suffix}.html", folder / f"{name}{target.suffix}.png"
        with warnings.catch_warnings():
            # Given a target, Optuna warns that importance is for low values: _Target saw to it.
            warnings.filterwarnings("ignore", "PedAnovaImportanceEvaluator computes", UserWarning)
            getattr(vis, plot)(study, **options).write_html(html, include_plotlyjs=PLOTLY_JS)
            out.written.append(html)
            warnings.simplefilter("ignore", ExperimentalWarning)  # optuna.visualization.matplotlib
            # A parameter with one value makes matplotlib warn about equal axis limits; it copes.
            warnings.filterwarnings("ignore", "Attempting to set identical", UserWarning)
            axes = getattr(vis_mpl, plot)(study, **options)
        figure = np.asarray(axes).ravel()[0].figure  # plot_slice gives an array of axes
        figure.savefig(png, bbox_inches="tight", dpi=120)
        plt.close(figure)
        out.written.append(png)
    except ValueError as e:  # what Optuna raises for trials a plot cannot use
        out.skipped.append(f"{name} plot skipped: {e}")
