"""Optimization plots of one study, as self-contained HTML (plotly) and PNG (matplotlib).

Both work offline and without a display: the HTML embeds plotly.js, the PNG is drawn by
matplotlib's Agg backend (no kaleido, no browser).
"""

from __future__ import annotations

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
    ``folder`` as ``<plot>.html`` and ``<plot>.png``; plots the trials cannot support are
    skipped with a reason."""
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
    _write(study, folder, "history", out)
    if any(t.params for t in complete):
        _write(study, folder, "slice", out)
    else:
        out.skipped.append("slice plot skipped: the trials have no parameters")
    reason = _no_importance(complete)
    if reason:
        out.skipped.append(f"importance plot skipped: {reason}")
    else:
        _write(study, folder, "importance", out)
    return out


def _no_importance(complete: list[Any]) -> str | None:
    """Why parameter importance cannot be computed from these complete trials, if it cannot."""
    if len(complete) < 2:
        return "it needs at least 2 complete trials"
    # Optuna weighs only the parameters every complete trial has.
    shared = set.intersection(*(set(t.params) for t in complete))
    if not any(len({repr(t.params[p]) for t in complete}) > 1 for p in shared):
        return "no parameter varies across the complete trials"
    return None


def _write(study: optuna.Study, folder: Path, name: str, out: PlotFiles) -> None:
    import matplotlib.pyplot as plt
    import numpy as np
    import optuna.visualization as vis
    import optuna.visualization.matplotlib as vis_mpl
    from optuna.exceptions import ExperimentalWarning

    plot = {"history": "plot_optimization_history", "slice": "plot_slice",
            "importance": "plot_param_importances"}[name]
    try:
        html, png = folder / f"{name}.html", folder / f"{name}.png"
        getattr(vis, plot)(study).write_html(html, include_plotlyjs=True)
        out.written.append(html)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)  # optuna.visualization.matplotlib
            # A parameter with one value makes matplotlib warn about equal axis limits; it copes.
            warnings.filterwarnings("ignore", "Attempting to set identical", UserWarning)
            axes = getattr(vis_mpl, plot)(study)
        figure = np.asarray(axes).ravel()[0].figure  # plot_slice gives an array of axes
        figure.savefig(png, bbox_inches="tight", dpi=120)
        plt.close(figure)
        out.written.append(png)
    except ValueError as e:  # what Optuna raises for trials a plot cannot use
        out.skipped.append(f"{name} plot skipped: {e}")
