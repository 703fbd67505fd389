"""The reaper: a runner killed with SIGKILL leaves no process and no scratch folder behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from saber.backends.embedded._reaper import _alive

RUNNER = textwrap.dedent("""
    import subprocess, sys, time
    from pathlib import Path
    from saber.backends.embedded._reaper import Reaper
    folder = Path(sys.argv[1])
    reaper = Reaper(folder, remove=True)
    child = subprocess.Popen(["sleep", "300"])
    (folder / "child.pid").write_text(str(child.pid))
    if sys.argv[2] == "finish":
        child.kill(); child.wait(); reaper.release(); print("released", flush=True)
    else:
        time.sleep(300)
""")


def _start(tmp_path: Path, mode: str) -> tuple[subprocess.Popen, Path]:
    folder = tmp_path / "scratch"
    folder.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, str(folder), mode], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not (folder / "child.pid").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return proc, folder


def test_killed_runner_is_cleaned_up(tmp_path):
    proc, folder = _start(tmp_path, "hang")
    child = int((folder / "child.pid").read_text())
    time.sleep(1.2)  # the reaper has seen the child in the runner's process tree
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 15
    while (_alive(child) or folder.exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child), "the runner's child survived it"
    assert not folder.exists(), "the scratch folder was not removed"


def test_released_reaper_touches_nothing(tmp_path):
    proc, folder = _start(tmp_path, "finish")
    assert proc.communicate(timeout=30)[0].strip() == "released"
    time.sleep(1)
    assert folder.exists()
