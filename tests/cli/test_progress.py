"""How far a run is, as `saber run` shows it: k of N, the best so far, time spent and left."""

from __future__ import annotations

import io
from dataclasses import dataclass

from saber.backends._base import RunProgress
from saber.cli._progress import Headway, console_for, live_progress


@dataclass
class Study:
    direction: str = "maximize"


@dataclass
class Record:
    number: int
    state: str = "COMPLETE"
    value: float | None = None


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_study_counts_its_trials_and_keeps_the_best() -> None:
    clock = Clock()
    headway = Headway(clock)
    headway.ready(40, Study("minimize"))
    for number, value in enumerate([0.5, 0.2, 0.9]):
        headway.trial(Record(number, value=value))
    headway.trial(Record(3, state="FAIL"))
    # the current round's runs alone do not set the count: a study counts trials
    headway.runs([RunProgress(run_id="r", state="success")])
    clock.now += 80  # 20 s a trial: 36 more to go
    assert headway.text() == "trials 4 of 40 (10%), 1 failed, best 0.2 (#1), 1m20s spent, about 12m00s left"


def test_a_sweep_counts_finished_runs_of_every_batch() -> None:
    clock = Clock()
    headway = Headway(clock)
    headway.ready(2000, None)
    # a finished batch folded into one entry per state, and the current batch's runs
    headway.runs([RunProgress(run_id="batch-0", state="success", runs=995),
                  RunProgress(run_id="batch-0", state="failed", runs=5),
                  RunProgress(run_id="p1000", state="success"), RunProgress(run_id="p1001", state="running")])
    clock.now += 3600 + 120
    assert headway.text() == "points 1001 of 2000 (50%), 1h02m spent, about 1h01m left"


def test_no_count_no_estimate() -> None:
    headway = Headway(Clock())
    headway.ready(None, Study())  # a study bounded by time only
    headway.trial(Record(0, value=1.0))
    assert headway.text() == "trials 1, best 1 (#0), 0s spent"


def test_piped_progress_is_plain_lines_ending_with_the_last_state() -> None:
    stream = io.StringIO()
    console = console_for(stream)
    with live_progress(console) as progress:
        progress.headway.ready(2, None)
        progress.update([RunProgress(run_id="a", state="running", tasks={"running": 1})])
        progress.update([RunProgress(run_id="a", state="running", tasks={"running": 1})])  # no change: no line
        progress.update([RunProgress(run_id="a", state="success", tasks={"success": 3}),
                         RunProgress(run_id="b", state="success", tasks={"success": 3})])  # within 5 s: later
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("points 0 of 2 (0%), 0s spent; runs 0 done, 1 running")
    assert lines[1].startswith("points 2 of 2 (100%), 0s spent; runs 2 done, 0 running"), lines
    assert "\x1b" not in stream.getvalue()
