"""The one polling helper: backoff with jitter, or waits proportional to the time waited."""

from __future__ import annotations

import pytest

from saber.backends import _poll


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(_poll.time, "monotonic", lambda: now[0])
    return now


def test_backoff_grows_to_most_and_gives_up_at_the_timeout(clock: list[float]) -> None:
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        clock[0] += s

    assert _poll.poll(lambda: None, timeout=30, first=1.0, most=4.0, factor=2.0, sleep=sleep) is None
    assert 0.8 <= waits[0] <= 1.2 and 1.6 <= waits[1] <= 2.4
    assert all(w <= 4.8 for w in waits) and sum(waits) == pytest.approx(30)


def test_relative_waits_follow_the_time_waited(clock: list[float]) -> None:
    waits: list[float] = []
    answers = iter([None] * 60 + ["done"])

    def sleep(s: float) -> None:
        waits.append(s)
        clock[0] += s

    assert _poll.poll(lambda: next(answers), timeout=1e9, first=0.2, most=5.0, relative=0.05, sleep=sleep) == "done"
    assert all(0.16 <= w <= 0.24 for w in waits[:5])  # young: every 0.2 s
    elapsed = sum(waits[:-1])
    assert waits[-1] == pytest.approx(min(5.0, max(0.2, 0.05 * elapsed)), rel=0.25)
