"""`saber results` on a study of thousands of trials: the list counts and finds the best by SQL,
the table shows one page and reads only its trials' detail, csv and json export every trial a
batch at a time; nothing loads the study through Optuna."""

from __future__ import annotations

import csv
import io
import json

import pytest
from results_testing import write_big_study, write_plain_sweep, write_study, write_two_objective_study

from saber.scores import ResultsStore, report_json
from saber.scores import _sql

N = 3_000
# write_big_study: trial k scores (k * 7919 % N) / N, maximized; 7919 is prime, so one trial is best.
BEST = next(k for k in range(N) if k * 7919 % N == N - 1)
PAGING = "--offset/--limit for others, --format csv|json for all"


@pytest.fixture
def big(store: ResultsStore) -> ResultsStore:
    """``store`` with a 3,000-trial study "big"."""
    write_big_study(store, "big", N)
    return store


def refuse_loading_every_trial(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, reading a study's every trial through Optuna fails the test."""
    from optuna.storages import RDBStorage

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("read every trial through Optuna")

    monkeypatch.setattr(RDBStorage, "get_all_trials", refused)


@pytest.fixture
def detail_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many trials each detail read (params, attributes, step scores) was for."""
    sizes: list[int] = []
    real = _sql.trial_rows

    def counted(conn, study, light, n_objectives):
        sizes.append(len(light))
        return real(conn, study, light, n_objectives)

    monkeypatch.setattr(_sql, "trial_rows", counted)
    return sizes


def table_numbers(out: str) -> list[int]:
    """The trial numbers of a `saber results NAME` table's rows."""
    cells = (line.split("│") for line in out.splitlines() if line.startswith("│"))
    return [int(row[1].strip().rstrip("*")) for row in cells]


def test_the_list_counts_and_finds_the_best_by_sql(big: ResultsStore, results,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    write_plain_sweep(big)
    write_two_objective_study(big)
    refuse_loading_every_trial(monkeypatch)
    rows = {r.name: r for r in big.list_studies()}
    assert (rows["big"].states, rows["big"].best_value, rows["big"].kind) == ({"COMPLETE": N}, (N - 1) / N, "study")
    assert (rows["echoes"].best_value, rows["two"].best_value) == (None, None)
    code, out, _ = results("--format", "json")
    studies = {s["name"]: s for s in json.loads(out)["studies"]}
    assert code == 0 and (studies["big"]["trials"], studies["big"]["complete"], studies["big"]["best"]) == (
        N, N, (N - 1) / N)
    assert (studies["echoes"]["trials"], studies["echoes"]["failed"], studies["echoes"]["best"]) == (3, 1, None)


def test_the_table_shows_one_page(big: ResultsStore, results, detail_reads: list[int],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    refuse_loading_every_trial(monkeypatch)
    code, out, _ = results("big")
    lines = out.splitlines()
    assert code == 0 and table_numbers(out) == list(range(100))
    assert lines[-2] == f"trials 1–100 of 3,000 shown; {PAGING}"
    # The best trial is the whole study's, read on its own: it is not on the page.
    assert lines[-1].startswith(f"best: trial {BEST}, score {(N - 1) / N:.6g} (maximize), parameters ")
    assert detail_reads == [100, 1]


@pytest.mark.parametrize(("args", "numbers", "line"), [
    pytest.param(["--limit", "10"], range(10), "trials 1–10 of 3,000 shown", id="limit"),
    pytest.param(["--offset", "100"], range(100, 200), "trials 101–200 of 3,000 shown", id="second-page"),
    pytest.param(["--offset", "2990", "--limit", "100"], range(2990, 3000), "trials 2,991–3,000 of 3,000 shown",
                 id="last-page"),
    pytest.param(["--offset", str(BEST), "--limit", "1"], [BEST], f"trials {BEST + 1:,}–{BEST + 1:,} of 3,000 shown",
                 id="the-best"),
    pytest.param(["--offset", "3000"], [], "no trials shown: --offset 3,000 is past the study's 3,000; "
                 "--format csv|json for all", id="past-the-end"),
])
def test_page_boundaries(big: ResultsStore, results, args: list[str], numbers, line: str) -> None:
    code, out, _ = results("big", *args)
    assert code == 0 and table_numbers(out) == list(numbers)
    assert out.splitlines()[-2].startswith(line)
    assert (f"{BEST}*" in out) == (BEST in numbers)


def test_exports_hold_every_trial(big: ResultsStore, results, monkeypatch: pytest.MonkeyPatch) -> None:
    refuse_loading_every_trial(monkeypatch)
    code, out, _ = results("big", "--format", "csv")
    header, *rows = csv.reader(io.StringIO(out))
    assert code == 0 and header[:3] == ["number", "x", "k"] and [int(r[0]) for r in rows] == list(range(N))
    code, out, _ = results("big", "--format", "json")
    report = json.loads(out)
    assert code == 0 and [t["number"] for t in report["trials"]] == list(range(N))
    assert report["best"]["number"] == BEST
    code, out, _ = results("big", "--format", "json", "--offset", "10", "--limit", "5")
    assert [t["number"] for t in json.loads(out)["trials"]] == [10, 11, 12, 13, 14]


def test_trials_are_read_a_batch_at_a_time(big: ResultsStore, detail_reads: list[int]) -> None:
    numbers = [t.number for t in big.trials("big", batch=700)]
    assert numbers == list(range(N)) and detail_reads == [700, 700, 700, 700, 200]
    assert big.labels("big", batch=700) == (["x", "k"], [])


@pytest.mark.parametrize("name", ["blobs", "empty"])
def test_streamed_json_is_the_documented_json(store: ResultsStore, results, name: str) -> None:
    write_study(store, name, trials=name != "empty")
    code, out, _ = results(name, "--format", "json")
    assert (code, out) == (0, json.dumps(report_json(store.study_report(name)), indent=2) + "\n")


@pytest.mark.parametrize(("direction", "values", "best"), [
    pytest.param("maximize", [1.0, 3.0, 3.0, 2.0], 1, id="earliest-of-ties"),
    pytest.param("minimize", [float("-inf"), 2.0, 1.0, 1.0], 2, id="infinity-is-no-best"),
])
def test_best_of_the_whole_study_off_the_page(store: ResultsStore, results, direction: str, values: list[float],
                                              best: int) -> None:
    import optuna

    study = optuna.create_study(study_name="ties", storage=store.storage, direction=direction)
    for value in values:
        study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=value))
    assert next(r for r in store.list_studies() if r.name == "ties").best_value == values[best]
    code, out, _ = results("ties", "--offset", "3")
    assert code == 0 and table_numbers(out) == [3]
    assert out.splitlines()[-1].startswith(f"best: trial {best}, score {values[best]:.6g}")


def test_a_plain_sweep_and_several_objectives_page_too(store: ResultsStore, results) -> None:
    write_plain_sweep(store)
    write_two_objective_study(store)
    code, out, _ = results("echoes", "--limit", "1")
    assert code == 0 and out.splitlines()[-2:] == [
        f"trials 1–1 of 3 shown; {PAGING}", "best: none, a plain sweep (its workflow has no scored step)"]
    code, out, _ = results("two", "--offset", "1", "--limit", "1")
    assert code == 0 and table_numbers(out) == [1] and out.splitlines()[-2] == f"trials 2–2 of 3 shown; {PAGING}"
    assert out.splitlines()[-1].startswith("best: none, each of the 2 scored steps is an objective")


def test_small_studies_show_every_trial(store: ResultsStore, results) -> None:
    write_study(store, "blobs")
    code, out, _ = results("blobs")
    assert code == 0 and table_numbers(out) == list(range(6)) and "shown" not in out
    assert results("blobs", "--all") == (code, out, "")


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["blobs", "--limit", "0"], "--limit takes a whole number of trials, 1 or more, not '0'", id="limit-0"),
    pytest.param(["blobs", "--limit", "ten"], "--limit takes a whole number of trials, 1 or more, not 'ten'",
                 id="limit-word"),
    pytest.param(["blobs", "--offset", "-1"], "--offset takes a whole number of trials, 0 or more, not '-1'",
                 id="offset-negative"),
    pytest.param(["blobs", "--offset", "1.5"], "--offset takes a whole number of trials, 0 or more, not '1.5'",
                 id="offset-fraction"),
    pytest.param(["--limit", "5"], "--offset, --limit and --all choose one study's trials; they need a study NAME",
                 id="no-name"),
])
def test_bad_paging_exits_2(store: ResultsStore, results, args: list[str], message: str) -> None:
    write_study(store, "blobs")
    code, out, err = results(*args)
    assert (code, out) == (2, "")
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
