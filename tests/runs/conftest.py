"""A throw-away saber home for the operations tests, and drivers that hold a lease in it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from saber.home import SaberHome
from saber.scores import results_url


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SaberHome:
    """A home where nothing ran in Airflow yet: its results database only."""
    monkeypatch.delenv("SABER_DB", raising=False)
    monkeypatch.setenv("SABER_HOME", str(tmp_path / "home"))
    return SaberHome(tmp_path / "home")


@pytest.fixture
def driver(home: SaberHome) -> Iterator:
    """Start a process that holds a lease as `saber run` does: on SIGTERM it gives the lease
    back and exits 143, or with ``stubborn`` it ignores SIGTERM."""
    started: list[subprocess.Popen] = []

    def start(name: str, *, stubborn: bool = False) -> subprocess.Popen:
        code = textwrap.dedent(f"""
            import signal, sys, time
            from saber.scores import Lease
            lease = Lease({results_url(home)!r}, {name!r}, "/usr/bin/saber run wf.cwl --study {name}")
            lease.acquire()
            def stop(*_):
                lease.release()
                sys.exit(143)
            signal.signal(signal.SIGTERM, signal.SIG_IGN if {stubborn!r} else stop)
            print("held", flush=True)
            time.sleep(300)
        """)
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        started.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
