"""The step cache's key, entries and rules, on files in tmp_path (no Docker, no Airflow)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from saber.execution._cache import StepCache, cache_key, cacheable, run_cached
from saber.execution._tool import ToolRun


def _step(**extra) -> dict:
    tool = {"class": "CommandLineTool", "id": "_:1b2c", "baseCommand": ["cat"],
            "inputs": [{"id": "file:///a/wf.cwl#s/run/text", "type": "File"}], "outputs": []}
    return {"task_id": "s", "tool": tool, "requirements": [{"class": "DockerRequirement", "dockerPull": "x:1"}],
            "hints": [], **extra}


def _file(path: Path) -> dict:
    return {"class": "File", "location": path.as_uri()}


def test_the_key_follows_content_not_place(tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "in.txt", tmp_path / "b" / "in.txt"
    for p in (a, b):
        p.parent.mkdir()
        p.write_text("same bytes")
    moved = _step()
    moved["tool"] = {**moved["tool"], "id": "_:9f9f",
                     "inputs": [{"id": "file:///elsewhere/wf.cwl#s/run/text", "type": "File"}]}
    key = cache_key(_step(), {"text": _file(a)}, {}, "sha256:img1")
    # the same bytes elsewhere, the workflow loaded again (another inline id) or moved: a hit
    assert cache_key(moved, {"text": _file(b)}, {}, "sha256:img1").digest == key.digest
    b.write_text("other bytes")
    changed = cache_key(_step(), {"text": _file(b)}, {}, "sha256:img1")
    assert changed.digest != key.digest and changed.parts["input text"] != key.parts["input text"]
    # a rebuilt image under the same tag, other resources, another value: misses
    assert cache_key(_step(), {"text": _file(a)}, {}, "sha256:img2").digest != key.digest
    more = _step(requirements=[*_step()["requirements"], {"class": "ResourceRequirement", "coresMin": 4}])
    assert cache_key(more, {"text": _file(a)}, {}, "sha256:img1").digest != key.digest


def test_what_is_never_cached() -> None:
    assert cacheable(_step()) == (True, "")
    assert not cacheable(_step(hints=[{"class": "WorkReuse", "enableReuse": False}]))[0]
    assert "in place" in cacheable(_step(requirements=[{"class": "InplaceUpdateRequirement", "inplaceUpdate": True}]))[1]
    network = [{"class": "NetworkAccess", "networkAccess": True}]
    assert "network access" in cacheable(_step(requirements=network))[1]
    assert cacheable(_step(requirements=[*network, {"class": "WorkReuse", "enableReuse": True}]))[0]


def _tool_run(outdir: Path, text: str, calls: list) -> ToolRun:
    calls.append(text)
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "out.txt").write_text(text)
    sub = outdir / "dir"
    sub.mkdir(exist_ok=True)
    (sub / "inner.txt").write_text(text)
    outputs = {"out": {"class": "File", "location": (outdir / "out.txt").as_uri(), "path": str(outdir / "out.txt")},
               "dir": {"class": "Directory", "location": sub.as_uri(),
                       "listing": [{"class": "File", "location": (sub / "inner.txt").as_uri()}]}}
    return ToolRun(outputs=outputs, stdout="", stderr="", lines=[("stdout", f"score: {text}")], container_s=1.0)


def _run(cache, outdir: Path, calls: list, said: list, job=None) -> ToolRun:
    step = _step()
    step["requirements"] = []  # no container: no docker to ask for the image
    return run_cached(step, job or {"text": "x"}, floats={}, outdir=outdir, cache=cache, name="wf/s",
                      source={"run_id": f"run-{len(calls)}", "task_id": "s"}, say=said.append,
                      run=lambda: _tool_run(outdir, "1.5", calls))


def test_a_hit_links_the_outputs_and_scores_again(tmp_path: Path) -> None:
    cache, calls, said = StepCache(tmp_path / ".cache"), [], []
    first = _run(cache, tmp_path / "run1" / "s", calls, said)
    assert not first.cached and "miss" in said[0] and "no earlier run" in said[0]
    again = _run(cache, tmp_path / "run2" / "s", calls, said)
    assert again.cached and len(calls) == 1 and "hit" in said[-1] and "run-0" in said[-1]
    out = Path(again.outputs["out"]["location"].removeprefix("file://"))
    assert out == tmp_path / "run2" / "s" / "out.txt" and out.read_text() == "1.5" and "path" not in again.outputs["out"]
    assert out.stat().st_ino == (tmp_path / "run1" / "s" / "out.txt").stat().st_ino  # a hard link, no copy
    inner = again.outputs["dir"]["listing"][0]["location"]
    assert inner == (tmp_path / "run2" / "s" / "dir" / "inner.txt").as_uri()
    assert again.lines == [("stdout", "score: 1.5")] and again.container_s == 0.0
    _run(cache, tmp_path / "run3" / "s", calls, said, job={"text": "y"})
    assert len(calls) == 2 and "changed since the last run of this step: input text" in said[-2]
    _run(None, tmp_path / "run4" / "s", calls, said)
    assert len(calls) == 3 and "off for this run" in said[-1]


def test_same_key_at_once_runs_the_tool_once(tmp_path: Path) -> None:
    cache, calls, said = StepCache(tmp_path / ".cache"), [], []
    threads = [threading.Thread(target=_run, args=(cache, tmp_path / f"run{i}" / "s", calls, said)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and sum("hit" in s for s in said) == 3


def test_an_entry_is_published_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    cache, calls, said = StepCache(tmp_path / ".cache"), [], []

    def broken_rename(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "rename", broken_rename)
    _run(cache, tmp_path / "run1" / "s", calls, said)
    monkeypatch.undo()
    assert not [p for p in (tmp_path / ".cache").rglob("entry.json")]  # no half entry left
    assert not list((tmp_path / ".cache" / "tmp").iterdir())
    _run(cache, tmp_path / "run2" / "s", calls, said)
    assert len(calls) == 2  # missed, ran, and now stored
    _run(cache, tmp_path / "run3" / "s", calls, said)
    assert len(calls) == 2


def test_only_the_jobs_own_float_texts_count(tmp_path: Path) -> None:
    job = {"text": "x", "ratio": 0.5}
    key = cache_key(_step(), job, {"0.5": "0.50"}, "img")
    # another job file's floats (another input's 1e-05) do not change this step's key
    assert cache_key(_step(), job, {"0.5": "0.50", "1e-05": "0.00001"}, "img").digest == key.digest
    assert cache_key(_step(), job, {"0.5": "0.5"}, "img").digest != key.digest
    # a text that reads as Python prints the float changes nothing
    assert cache_key(_step(), job, {"0.5": "0.5"}, "img").digest == cache_key(_step(), job, {}, "img").digest
