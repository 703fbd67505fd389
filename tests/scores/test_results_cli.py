"""`saber results` in-process: studies and trials as table, CSV and JSON; plots; bad names."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from results_testing import ERROR, write_plain_sweep, write_study, write_two_objective_study

from saber.scores import ResultsStore


def test_studies_table(store: ResultsStore, results) -> None:
    write_study(store, "blobs")
    write_study(store, "cells", "minimize", trials=False)
    code, out, _ = results()
    assert code == 0
    blobs = next(line for line in out.splitlines() if "blobs" in line)
    # name, kind, method, direction + objective, trials, complete, failed, best, created (json has all)
    assert [cell.strip() for cell in blobs.split("│")[1:-1]] == [
        "blobs", "sweep", "grid", "max evaluate", "6", "3", "1", "0.8", "2025-06-01 12:00"]
    assert "cells" in out


def test_no_studies_yet(results) -> None:
    code, out, err = results()
    assert (code, out) == (0, "")
    assert "no studies yet" in err


def test_studies_json_and_csv(store: ResultsStore, results) -> None:
    write_study(store, "blobs")
    code, out, _ = results("--format", "json")
    (study,) = json.loads(out)["studies"]
    assert (code, study["name"], study["trials"], study["best"], study["states"]["FAIL"]) == (0, "blobs", 6, 0.8, 1)
    code, out, _ = results("--format", "csv")
    header, row = csv.reader(io.StringIO(out))
    assert dict(zip(header, row)) | {"created": ""} == {
        "name": "blobs", "kind": "sweep", "direction": "maximize", "method": "grid", "objective": "evaluate",
        "trials": "6",
        "complete": "3", "failed": "1", "running": "1", "waiting": "1", "best": "0.8", "created": ""}


def test_single_runs_sweeps_and_studies_are_told_apart(store: ResultsStore, results) -> None:
    import optuna

    def made(name: str, method: str, sweep: str | None, trials: int) -> None:
        study = optuna.create_study(study_name=name, storage=store.storage, direction="maximize")
        for key, value in {"saber_method": method, "saber_sweep": sweep, "saber_objective": "evaluate"}.items():
            study.set_user_attr(key, value)
        for i in range(trials):
            study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=float(i)))

    made("20261130T010203-ab12", "grid", None, 1)  # `saber run wf.cwl --job job.yml`
    made("grid-sweep", "grid", "/s/sweep.yml", 4)
    made("batches", "batch-grid", "/s/sweep.yml", 4)
    made("tuning", "tpe", "/s/tpe.yml", 8)
    code, out, _ = results("--format", "json")
    kinds = {s["name"]: s["kind"] for s in json.loads(out)["studies"]}
    assert (code, kinds) == (0, {"20261130T010203-ab12": "run", "grid-sweep": "sweep", "batches": "sweep",
                                 "tuning": "study"})
    code, out, _ = results("--kind", "run", "--format", "csv")
    assert [row[:2] for row in csv.reader(io.StringIO(out))] == [["name", "kind"], ["20261130T010203-ab12", "run"]]
    code, out, _ = results("--kind", "sweep", "--kind", "study")
    assert "tuning" in out and "grid-sweep" in out and "20261130T010203" not in out
    code, out, err = results("--kind", "run", "tuning")
    assert code == 2 and "--kind" in err


def test_trials_table(store: ResultsStore, results) -> None:
    write_study(store, "blobs")
    code, out, _ = results("blobs")
    assert code == 0
    lines = out.splitlines()
    assert any("1*" in line and "threshold=0.4, sigma=1.5" in line and "0.8" in line for line in lines)
    assert any("FAIL: " + ERROR in line for line in lines)
    assert any("RUNNING" in line for line in lines) and any("WAITING" in line for line in lines)
    assert "count[0]=10, count[1]=11" in out  # the other scored step of trial 1
    assert lines[-1] == 'best: trial 1, score 0.8 (maximize), parameters {"threshold": 0.4, "sigma": 1.5}'


def test_trials_json(store: ResultsStore, results) -> None:
    write_study(store, "blobs", "minimize")
    code, out, _ = results("blobs", "--format", "json")
    report = json.loads(out)  # nothing but the JSON on stdout
    assert code == 0
    assert list(report) == ["study", "direction", "best", "trials"]
    assert (report["study"], report["direction"]) == ("blobs", "minimize")
    assert report["best"] == {"number": 2, "params": {"threshold": 0.6, "sigma": 3.0}, "score": 0.3}
    assert [(t["number"], t["state"], t["score"]) for t in report["trials"]] == [
        (0, "COMPLETE", 0.5), (1, "COMPLETE", 0.8), (2, "COMPLETE", 0.3), (3, "FAIL", None),
        (4, "RUNNING", None), (5, "WAITING", None)]
    first = report["trials"][0]
    assert {"number", "params", "score", "state", "duration_s"} <= set(first)
    assert (first["params"], first["duration_s"], first["container_s"]) == ({"threshold": 0.2, "sigma": 0.5},
                                                                             10.0, 20.0)
    assert report["trials"][3]["error"] == ERROR


def test_trials_json_without_complete_trial(store: ResultsStore, results) -> None:
    write_study(store, "new", trials=False)
    code, out, _ = results("new", "--format", "json")
    assert (code, json.loads(out)) == (0, {"study": "new", "direction": "maximize", "best": None, "trials": []})


def test_trials_csv(store: ResultsStore, results) -> None:
    write_study(store, "blobs")
    code, out, _ = results("blobs", "--format", "csv")
    header, *rows = list(csv.reader(io.StringIO(out)))
    assert code == 0
    assert header == ["number", "threshold", "sigma", "score", "state", "start", "duration_s", "container_s",
                      "run_id", "error", "step:evaluate", "step:count[0]", "step:count[1]"]
    assert len(rows) == 6
    second = dict(zip(header, rows[1]))
    assert (second["threshold"], second["sigma"], second["score"], second["state"]) == ("0.4", "1.5", "0.8",
                                                                                       "COMPLETE")
    assert (second["step:count[1]"], dict(zip(header, rows[3]))["error"]) == ("11.0", ERROR)


def test_unknown_study_exits_2(store: ResultsStore, results) -> None:
    write_study(store, "blobs")
    code, out, err = results("nope")
    assert (code, out) == (2, "")
    assert "no study named 'nope'" in err and "known studies: blobs" in err
    assert "Traceback" not in err


def test_plots_need_a_name(results) -> None:
    code, _, err = results("--plots", "plots")
    assert code == 2 and "--plots needs a study NAME" in err


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_plots(store: ResultsStore, results, tmp_path: Path) -> None:
    write_study(store, "blobs")
    folder = tmp_path / "plots"
    code, out, _ = results("blobs", "--format", "json", "--plots", str(folder))
    assert code == 0 and json.loads(out)["study"] == "blobs"  # notes stay off stdout
    for name in ("history", "slice", "importance"):
        html, png = folder / f"{name}.html", folder / f"{name}.png"
        assert png.read_bytes().startswith(b"\x89PNG")
        # Offline: the pages share the plotly.js beside them instead of each embedding it or
        # fetching it from a CDN.
        text = html.read_text()
        assert html.stat().st_size < 100_000 and 'src="plotly.min.js"' in text and "cdn.plot.ly" not in text
    assert (folder / "plotly.min.js").stat().st_size > 1_000_000


_FIXED = "slice and importance plots skipped: no parameter varies across the complete trials (one value: x)"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("params", "notes", "written"), [
    pytest.param([], ["no plots: study 'one' has no complete trial yet"], [], id="empty"),
    pytest.param([{"x": 0.5}], [_FIXED], ["history"], id="one-trial"),
    pytest.param([{"x": 0.5}] * 3, [_FIXED], ["history"], id="constant-parameter"),
    pytest.param([{}] * 2, ["slice and importance plots skipped: the trials have no parameters"],
                 ["history"], id="no-parameters"),
    pytest.param([{"x": 0.5, "y": 0.1}, {"x": 0.5, "y": 0.2}],
                 ["fixed inputs not drawn (one value in all complete trials): x"],
                 ["history", "slice", "importance"], id="fixed-input"),
])
def test_plots_skipped_with_a_note(store: ResultsStore, results, tmp_path: Path, params: list[dict[str, float]],
                                   notes: list[str], written: list[str]) -> None:
    import optuna
    from optuna.distributions import FloatDistribution

    study = optuna.load_study(study_name=write_study(store, "one", trials=False), storage=store.storage)
    for n, point in enumerate(params):
        study.add_trial(optuna.trial.create_trial(
            params=point, distributions={p: FloatDistribution(0, 1) for p in point}, value=float(n)))
    code, _, err = results("one", "--plots", str(tmp_path / "plots"))
    assert code == 0
    assert [line.removeprefix("note: ") for line in err.splitlines() if line.startswith("note: ")] == notes
    # The pages' shared plotly.js comes with the first page.
    assert sorted(p.name for p in (tmp_path / "plots").glob("*")) == sorted(
        [f"{name}.{ext}" for name in written for ext in ("html", "png")] + (["plotly.min.js"] if written else []))


def test_a_study_of_several_objectives(store: ResultsStore, results) -> None:
    write_two_objective_study(store)
    code, out, _ = results()
    row = next(line for line in out.splitlines() if "two" in line)
    assert code == 0 and [cell.strip() for cell in row.split("│")[1:-1]][:8] == [
        "two", "sweep", "grid", "max first, second", "3", "3", "0", ""]  # no best value: two objectives
    code, out, _ = results("two")
    lines = out.splitlines()
    header = next(line for line in lines if "parameters" in line)
    assert code == 0 and "first" in header and "second" in header and "score" not in header
    assert any("x=0.2" in line and "0.2" in line and "0.8" in line and "COMPLETE" in line for line in lines)
    assert not any("*" in line for line in lines)
    assert lines[-1].startswith("best: none, each of the 2 scored steps is an objective")
    code, out, _ = results("two", "--format", "json")
    report = json.loads(out)
    assert report["best"] is None and report["trials"][0]["steps"] == {"first": 0.2, "second": 0.8}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_plots_of_several_objectives_one_set_per_step(store: ResultsStore, results, tmp_path: Path) -> None:
    write_two_objective_study(store)
    code, _, err = results("two", "--plots", str(tmp_path / "plots"))
    assert code == 0 and "Traceback" not in err
    assert sorted(p.name for p in (tmp_path / "plots").glob("*.png")) == sorted(
        f"{plot}-{step}.png" for plot in ("history", "slice", "importance") for step in ("first", "second"))


def test_a_plain_sweep_is_listed_and_reported(store: ResultsStore, results, tmp_path: Path) -> None:
    write_plain_sweep(store)
    write_study(store, "blobs")  # a scored study's summary is unaffected by the sweep's valueless trials
    code, out, _ = results("--format", "json")
    sweep, blobs = json.loads(out)["studies"]
    assert (code, sweep["name"], sweep["kind"], sweep["direction"], sweep["best"]) == (0, "echoes", "sweep", "", None)
    assert (sweep["trials"], sweep["complete"], sweep["failed"], sweep["running"]) == (3, 1, 1, 1)
    assert blobs["best"] == 0.8
    assert [row[:2] for row in (line.split("│")[1:3] for line in results("--kind", "sweep")[1].splitlines()
                                if "echoes" in line)] == [[" echoes ", " sweep "]]
    code, out, _ = results("echoes", "--format", "json")
    report = json.loads(out)
    assert (code, report["best"], report["direction"]) == (0, None, "")
    assert [(t["params"], t["state"], t["run_id"]) for t in report["trials"]] == [
        ({"message": "a"}, "COMPLETE", "echoes_p0000"), ({"message": "b"}, "FAIL", "echoes_p0001"),
        ({"message": "c"}, "RUNNING", "echoes_p0002")]
    code, out, _ = results("echoes")
    assert code == 0 and "plain sweep" in out and "message=\"b\"" in out
    code, _, err = results("echoes", "--plots", str(tmp_path / "plots"))
    assert code == 0 and "is a plain sweep" in err and not (tmp_path / "plots").exists()
