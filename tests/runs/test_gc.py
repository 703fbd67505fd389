"""`saber gc`: old run folders and cache entries go, runs in flight and outdirs stay."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from saber.home import SaberHome
from saber.runs import collect_garbage

DAY = 86400.0


def _old(path: Path, days: float) -> Path:
    """``path`` and everything below it last touched ``days`` ago."""
    when = time.time() - days * DAY
    for p in [path, *path.rglob("*")]:
        os.utime(p, (when, when), follow_symlinks=False)
    return path


def _run_folder(storage: Path, dag: str, run: str, days: float, size: int = 1000) -> Path:
    out = storage / dag / run / "step"
    out.mkdir(parents=True)
    (out / "result.bin").write_bytes(b"x" * size)
    work = storage / ".work" / dag / run / "step" / "try1"
    work.mkdir(parents=True)
    (work / "stdout.txt").write_text("log")
    _old(storage / ".work" / dag / run, days)
    return _old(storage / dag / run, days)


@pytest.fixture
def home(home: SaberHome, monkeypatch: pytest.MonkeyPatch) -> SaberHome:
    """tests/runs/conftest.py's fresh home, with its own run storage."""
    monkeypatch.delenv("SABER_STORAGE", raising=False)
    home.storage.mkdir(parents=True)
    return home


def test_old_runs_and_unused_cache_entries_go(home: SaberHome, tmp_path: Path, monkeypatch) -> None:
    from saber.backends.embedded import _home_runs

    storage = home.storage
    old = _run_folder(storage, "saber_wf_1", "s1_p0000", days=10)
    recent = _run_folder(storage, "saber_wf_1", "s2_p0000", days=1)
    flying = _run_folder(storage, "saber_wf_1", "s3_p0000", days=10)
    outdir = tmp_path / "outdir"  # a --outdir holding a hard link of the old run's output
    outdir.mkdir()
    os.link(old / "step" / "result.bin", outdir / "result.bin")
    entry = storage / ".cache" / "ab" / "ab12"
    (entry / "outputs").mkdir(parents=True)
    (entry / "outputs" / "f").write_bytes(b"y" * 500)
    _old(entry, 20)
    used = storage / ".cache" / "cd" / "cd34"
    used.mkdir(parents=True)
    (storage / ".cache" / "locks").mkdir()
    _old(storage / ".cache" / "locks", 0)
    lock = storage / ".cache" / "locks" / "ab12.lock"
    lock.write_text("")
    _old(lock, 20)

    class Flying:
        dag_id, run_id = "saber_wf_1", "s3_p0000"

    monkeypatch.setattr(_home_runs, "home_runs", lambda home, active_only=False: [Flying()])
    dry = collect_garbage(home, older_than_s=7 * DAY, dry_run=True)
    assert sorted(dry.runs) == sorted([old, storage / ".work" / "saber_wf_1" / "s1_p0000"])
    assert sorted(dry.cache) == sorted([entry, lock]) and dry.in_flight == 2
    # the old run's 1000 bytes live on in the outdir: only the cache entry's 500 and the log go
    assert dry.freed_bytes == 500 + len("log")
    assert old.exists() and entry.exists()  # a dry run removes nothing

    done = collect_garbage(home, older_than_s=7 * DAY)
    assert not old.exists() and not entry.exists() and not lock.exists()
    assert recent.exists() and flying.exists() and used.exists()
    assert (outdir / "result.bin").read_bytes() == b"x" * 1000  # the outdir is never touched
    assert done.runs == dry.runs


def test_the_command(home: SaberHome, tmp_path: Path) -> None:
    _run_folder(home.storage, "saber_wf_1", "s1_p0000", days=10, size=2_000_000)
    env = {**os.environ, "SABER_HOME": str(home.root)}
    env.pop("SABER_STORAGE", None)
    run = lambda *a: subprocess.run([sys.executable, "-m", "saber", "gc", *a], capture_output=True, text=True,
                                    env=env, timeout=120)
    dry = run("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would remove 2 run folder(s) and 0 cache item(s): 2.0 MB would be freed" in dry.stdout
    assert run("--older-than", "30d").stdout.strip().endswith("0.0 MB freed")
    assert "removed 2 run folder(s)" in run().stdout
    assert not (home.storage / "saber_wf_1" / "s1_p0000").exists()
    bad = run("--older-than", "soon")
    assert bad.returncode == 2 and "--older-than must be a duration" in bad.stderr
