"""What `saber run` shows while it runs, on stderr: a live table on a terminal; plain lines,
one per change and at most one every few seconds, when stderr is a file or a pipe (a log)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Protocol

from rich.console import Console
from rich.live import Live
from rich.table import Table

__all__ = ["console_for", "live_progress", "progress_line", "progress_table"]

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


class Progress(Protocol):
    def update(self, runs: Sequence) -> None: ...


@contextmanager
def live_progress(console: Console) -> Iterator[Progress]:
    """The run's progress on ``console``: a table redrawn in place on a terminal, else lines."""
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

    def update(self, runs: Sequence) -> None:
        self.live.update(progress_table(runs))


class _Lines:
    def __init__(self, console: Console, every_s: float = PLAIN_EVERY_S) -> None:
        self.console, self.every_s = console, every_s
        self.shown = self.pending = ""
        self.at = float("-inf")

    def update(self, runs: Sequence) -> None:
        self.pending = progress_line(runs)
        if self.pending != self.shown and time.monotonic() - self.at >= self.every_s:
            self.flush()

    def flush(self) -> None:
        if self.pending and self.pending != self.shown:
            self.console.print(self.pending, markup=False, highlight=False)
            self.shown, self.at = self.pending, time.monotonic()


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
    """``progress: points 2 done, 1 running, 0 failed; steps 14 done (3 cached), 2 running, ...``"""
    points, steps, cached = _counts(runs)
    return (f"progress: points {points.get('success', 0)} done, {points.get('running', 0)} running, "
            f"{points.get('queued', 0)} queued, {points.get('failed', 0)} failed; "
            f"steps {steps.get('success', 0)} done ({cached} cached), {steps.get('running', 0)} running, "
            f"{steps.get('queued', 0) + steps.get('scheduled', 0)} queued, "
            f"{steps.get('failed', 0) + steps.get('upstream_failed', 0)} failed, {steps.get('skipped', 0)} skipped")


def progress_table(runs: Sequence) -> Table:
    points, steps, cached = _counts(runs)
    table = Table(title="progress", show_header=True)
    for col in ("", "done", "cached", "running", "queued", "failed", "skipped"):
        table.add_column(col)
    table.add_row("points", str(points.get("success", 0)), "", str(points.get("running", 0)),
                  str(points.get("queued", 0)), str(points.get("failed", 0)), "")
    # "cached" counts the done steps whose outputs came from the step cache (no container).
    table.add_row("steps", str(steps.get("success", 0)), str(cached), str(steps.get("running", 0)),
                  str(steps.get("queued", 0) + steps.get("scheduled", 0)),
                  str(steps.get("failed", 0) + steps.get("upstream_failed", 0)), str(steps.get("skipped", 0)))
    return table
