"""What `saber run` shows while it runs, on stderr: how far it is (points or trials k of N, the
best score so far, time spent and an estimate of what is left), then the counts of runs and
steps by state. On a terminal a progress bar and a table redrawn in place; written to a file or
a pipe (a log), plain lines, one per change and at most one every few seconds."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Protocol

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

__all__ = ["Headway", "console_for", "live_progress", "progress_line", "progress_table"]

PLAIN_EVERY_S = 5.0  # a log gets at most one progress line this often (and the last one)
_NO_WRAP_WIDTH = 10_000  # wide enough that rich never folds a line or a table written to a file


def console_for(stream: IO[str] | None = None, *, stderr: bool = False) -> Console:
    """A console on ``stream`` (stdout, or stderr): colours and the terminal's width on a
    terminal; written to a file or a pipe, no colour and lines as long as they are."""
    target = stream or (sys.stderr if stderr else sys.stdout)
    probe = Console(file=target)
    if probe.is_terminal:
        return Console(file=target, highlight=False)
    return Console(file=target, highlight=False, width=_NO_WRAP_WIDTH, soft_wrap=True, no_color=True)


class Headway:
    """How far a sweep or study is: points (or trials) finished of the planned count, the best
    score so far, time spent and left. A study reports each trial as it settles (its progress
    counts only the current round's runs); a plain sweep's finished runs are counted from its
    progress (finished batches are folded into it)."""

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self.started = clock()
        self.total: int | None = None
        self.study = None  # the StudySpec of a study, None for a plain sweep
        self.trials = self.failed = 0
        self.best: tuple[float, int] | None = None  # (score, trial number)
        self.finished_runs = 0

    def ready(self, count: int | None, study) -> None:
        self.total, self.study = count, study

    def trial(self, record) -> None:
        self.trials += 1
        self.failed += record.state != "COMPLETE"
        value = record.value
        if record.state == "COMPLETE" and isinstance(value, (int, float)) and self.study is not None:
            better = self.best is None or (value > self.best[0] if self.study.direction == "maximize"
                                           else value < self.best[0])
            if better:
                self.best = (float(value), record.number)

    def runs(self, runs: Sequence) -> None:
        points, _, _ = _counts(runs)
        self.finished_runs = sum(n for state, n in points.items() if state in ("success", "failed"))

    @property
    def done(self) -> int:
        return self.trials if self.study is not None else self.finished_runs

    def text(self) -> str:
        """``trials 12 of 40 (30%), best 0.93 (#7), 1m23s spent, about 3m14s left``"""
        unit = "trials" if self.study is not None else "points"
        parts = [f"{unit} {self.done}" + (f" of {self.total} ({100 * self.done // self.total}%)"
                                          if self.total else "")]
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.best is not None:
            parts.append(f"best {self.best[0]:.6g} (#{self.best[1]})")
        spent = self.clock() - self.started
        parts.append(f"{_duration(spent)} spent")
        if self.total and 0 < self.done < self.total:
            parts.append(f"about {_duration(spent / self.done * (self.total - self.done))} left")
        return ", ".join(parts)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress(Protocol):
    headway: Headway

    def update(self, runs: Sequence) -> None: ...


@contextmanager
def live_progress(console: Console) -> Iterator[Progress]:
    """The run's progress on ``console``: a bar and a table redrawn in place on a terminal,
    else lines."""
    if console.is_terminal:
        with Live(Table(), console=console, refresh_per_second=4, transient=False) as live:
            yield _LiveTable(live)
        return
    lines = _Lines(console)
    try:
        yield lines
    finally:
        lines.flush()


class _LiveTable:
    def __init__(self, live: Live) -> None:
        self.live = live
        self.headway = Headway()

    def update(self, runs: Sequence) -> None:
        self.headway.runs(runs)
        total = self.headway.total
        line = Table.grid(padding=(0, 1))  # a bar alone would not end its line
        line.add_row(ProgressBar(total=total or None, completed=self.headway.done, width=30), Text(self.headway.text()))
        self.live.update(Group(line, progress_table(runs)))


class _Lines:
    def __init__(self, console: Console, every_s: float = PLAIN_EVERY_S) -> None:
        self.console, self.every_s = console, every_s
        self.headway = Headway()
        self.counts = self.shown = ""
        self.at = float("-inf")

    def update(self, runs: Sequence) -> None:
        self.headway.runs(runs)
        self.counts = progress_line(runs)
        # a new line when the counts change (not merely the time spent), at most every few seconds
        if self.counts != self.shown and time.monotonic() - self.at >= self.every_s:
            self._print()

    def flush(self) -> None:
        """The last line, always: where the run ended."""
        if self.counts:
            self._print()

    def _print(self) -> None:
        self.console.print(f"{self.headway.text()}; {self.counts}", markup=False, highlight=False)
        self.shown, self.at = self.counts, time.monotonic()


def _counts(runs: Sequence) -> tuple[dict[str, int], dict[str, int], int]:
    points: dict[str, int] = {}
    steps: dict[str, int] = {}
    cached = 0
    for r in runs:
        points[r.state] = points.get(r.state, 0) + r.runs
        cached += r.cached
        for state, n in r.tasks.items():
            steps[state] = steps.get(state, 0) + n
    return points, steps, cached


def progress_line(runs: Sequence) -> str:
    """``runs 2 done, 1 running, 0 failed; steps 14 done (3 cached), 2 running, ...``"""
    points, steps, cached = _counts(runs)
    return (f"runs {points.get('success', 0)} done, {points.get('running', 0)} running, "
            f"{points.get('queued', 0)} queued, {points.get('failed', 0)} failed; "
            f"steps {steps.get('success', 0)} done ({cached} cached), {steps.get('running', 0)} running, "
            f"{steps.get('queued', 0) + steps.get('scheduled', 0)} queued, "
            f"{steps.get('failed', 0) + steps.get('upstream_failed', 0)} failed, {steps.get('skipped', 0)} skipped")


def progress_table(runs: Sequence) -> Table:
    points, steps, cached = _counts(runs)
    table = Table(title="progress", show_header=True)
    for col in ("", "done", "cached", "running", "queued", "failed", "skipped"):
        table.add_column(col)
    table.add_row("runs", str(points.get("success", 0)), "", str(points.get("running", 0)),
                  str(points.get("queued", 0)), str(points.get("failed", 0)), "")
    # "cached" counts the done steps whose outputs came from the step cache (no container).
    table.add_row("steps", str(steps.get("success", 0)), str(cached), str(steps.get("running", 0)),
                  str(steps.get("queued", 0) + steps.get("scheduled", 0)),
                  str(steps.get("failed", 0) + steps.get("upstream_failed", 0)), str(steps.get("skipped", 0)))
    return table
