"""write_plots on in-memory studies: only varied parameters drawn, the objective named on its
axis, one shared plotly.js beside small HTML files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from saber.scores import write_plots


def study_with_a_fixed_input(direction: str = "maximize", objectives: list[str] | None = None):
    """Four complete trials over threshold and sigma (varied) and seed (the same in all of them),
    with the user attrs the optimizer sets; several ``objectives``: one value per step."""
    import optuna
    from optuna.distributions import FloatDistribution, IntDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    steps = objectives or ["evaluate"]
    study = optuna.create_study(study_name="fixed", directions=[direction] * len(steps))
    study.set_user_attr("saber_objective", steps if objectives else "evaluate")
    distributions = {"threshold": FloatDistribution(0, 1), "sigma": IntDistribution(0, 2),
                     "seed": IntDistribution(0, 100)}
    for threshold, sigma, value in ((0.2, 0, 0.5), (0.4, 1, 0.8), (0.6, 2, 0.3), (0.8, 0, 0.6)):
        study.add_trial(optuna.trial.create_trial(
            params={"threshold": threshold, "sigma": sigma, "seed": 7}, distributions=distributions,
            values=[value + i for i in range(len(steps))]))
    return study


def figure(html: Path) -> dict:
    """The plotly figure inside ``html``: the data and layout given to Plotly.newPlot."""
    text = html.read_text()
    position = text.index("Plotly.newPlot(") + len("Plotly.newPlot(")
    decoder, parts = json.JSONDecoder(), []
    for _ in range(3):  # the div's id, the data, the layout
        while text[position] in " \n\t,":
            position += 1
        part, position = decoder.raw_decode(text, position)
        parts.append(part)
    return {"data": parts[1], "layout": parts[2]}


def axis_titles(fig: dict, axis: str) -> list[str]:
    """The titles of every ``axis`` ("x" or "y") of the figure's subplots, in subplot order."""
    layout = fig["layout"]
    names = sorted((k for k in layout if k.startswith(f"{axis}axis")), key=lambda k: int(k[5:] or 1))
    return [layout[k].get("title", {}).get("text") for k in names]


def test_only_varied_parameters_are_drawn(tmp_path: Path) -> None:
    plots = write_plots(study_with_a_fixed_input(), tmp_path)
    assert sorted(axis_titles(figure(tmp_path / "slice.html"), "x")) == ["sigma", "threshold"]
    importance = figure(tmp_path / "importance.html")
    assert sorted(name for trace in importance["data"] for name in trace["y"]) == ["sigma", "threshold"]
    assert plots.skipped == ["fixed inputs not drawn (one value in all complete trials): seed"]
    assert {p.name for p in plots.written} >= {f"{n}.{e}" for n in ("history", "slice", "importance")
                                                 for e in ("html", "png")}


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_the_objective_axis_names_the_step_and_direction(tmp_path: Path, direction: str) -> None:
    write_plots(study_with_a_fixed_input(direction), tmp_path)
    name = f"evaluate score ({direction})"
    assert axis_titles(figure(tmp_path / "history.html"), "y") == [name]
    # The slice's subplots share the objective's axis, titled on the first.
    assert axis_titles(figure(tmp_path / "slice.html"), "y")[0] == name
    assert [trace["name"] for trace in figure(tmp_path / "importance.html")["data"]] == [name]
    assert not any("Objective Value" in page.read_text() for page in tmp_path.glob("*.html"))


def test_several_objectives_each_named_by_its_step(tmp_path: Path) -> None:
    write_plots(study_with_a_fixed_input("minimize", ["first", "second"]), tmp_path)
    for step in ("first", "second"):
        assert axis_titles(figure(tmp_path / f"history-{step}.html"), "y") == [f"{step} score (minimize)"]
        assert axis_titles(figure(tmp_path / f"slice-{step}.html"), "y")[0] == f"{step} score (minimize)"


def test_one_shared_plotly_js_beside_small_pages(tmp_path: Path) -> None:
    from plotly.offline import get_plotlyjs

    study, source = study_with_a_fixed_input("maximize", ["first", "second"]), get_plotlyjs()
    first = write_plots(study, tmp_path)
    assert [p.name for p in first.written].count("plotly.min.js") == 1
    script = tmp_path / "plotly.min.js"
    assert script.read_text() == source
    written_at = script.stat().st_mtime_ns
    # Again into the same folder: the plots are redrawn, the current script is left as it is.
    again = write_plots(study, tmp_path)
    assert "plotly.min.js" not in [p.name for p in again.written] and script.stat().st_mtime_ns == written_at
    pages = sorted(tmp_path.glob("*.html"))
    assert len(pages) == 6 and sorted(p.name for p in tmp_path.glob("*.js")) == ["plotly.min.js"]
    for page in pages:
        text = page.read_text()
        assert page.stat().st_size < 100_000, page.name
        assert '<script charset="utf-8" src="plotly.min.js"></script>' in text
        assert source[-2_000:] not in text and "cdn.plot.ly" not in text


def test_a_stale_plotly_js_is_replaced(tmp_path: Path) -> None:
    from plotly.offline import get_plotlyjs

    # Left by a run under another plotly version: the pages need the version that drew them.
    (tmp_path / "plotly.min.js").write_text("/* plotly.js v0 */")
    plots = write_plots(study_with_a_fixed_input(), tmp_path)
    assert (tmp_path / "plotly.min.js").read_text() == get_plotlyjs()
    assert tmp_path / "plotly.min.js" in plots.written
