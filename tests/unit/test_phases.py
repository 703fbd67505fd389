"""Phase marks (saber._phases): nothing unless $SABER_PHASES names a file, one JSON line a mark."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from saber._phases import ENV, mark, process_start


def test_off_by_default_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    mark("imports")
    assert list(tmp_path.iterdir()) == []


def test_on_appends_one_line_a_mark_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marks = tmp_path / "phases.jsonl"
    monkeypatch.setenv(ENV, str(marks))
    mark("imports")
    mark("compile")
    mark("exec", at=12.5)
    records = [json.loads(line) for line in marks.read_text().splitlines()]
    assert [r["phase"] for r in records] == ["imports", "compile", "exec"]
    assert {r["pid"] for r in records} == {os.getpid()}
    assert records[0]["t"] <= records[1]["t"] <= time.time()
    assert records[2]["t"] == 12.5


def test_a_forked_child_appends_to_the_same_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marks = tmp_path / "phases.jsonl"
    monkeypatch.setenv(ENV, str(marks))
    mark("parent")
    pid = os.fork()
    if pid == 0:
        mark("child")
        os._exit(0)
    os.waitpid(pid, 0)
    records = [json.loads(line) for line in marks.read_text().splitlines()]
    assert [(r["phase"], r["pid"]) for r in records] == [("parent", os.getpid()), ("child", pid)]


def test_process_start_is_before_now() -> None:
    started = process_start()
    assert started is not None and 0 < time.time() - started < 24 * 3600
