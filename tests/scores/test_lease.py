"""The study lease: one live driver per study; a dead holder keeps nothing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from saber.scores import Lease, StudyBusy, lease_holders
from saber.scores._lease import leases_table


@pytest.fixture
def url(db_url: str) -> str:
    return db_url  # SQLite in a home, and PostgreSQL shared by a lab

def _plant(url: str, holder: str, heartbeat_age_s: float = 0.0) -> None:
    """A lease row as another process (maybe dead, maybe on another host) left it."""
    engine = sa.create_engine(url)
    Lease(url, "s").engine.dispose()
    from saber.scores._lease import _create

    _create(engine)
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        conn.execute(leases_table.insert().values(name="s", holder=holder, command="saber run x",
                                                  started_at=now - timedelta(seconds=heartbeat_age_s),
                                                  heartbeat_at=now - timedelta(seconds=heartbeat_age_s)))
    engine.dispose()


def test_a_second_driver_is_refused_and_the_first_release_frees_it(url: str) -> None:
    with Lease(url, "s", "saber run a.cwl"):
        with pytest.raises(StudyBusy, match=rf"study 's' is being run by another saber run \(pid {os.getpid()} on "):
            Lease(url, "s").acquire()
        [held] = lease_holders(Lease(url, "other").engine)
        assert (held.name, held.pid, held.command, held.alive) == ("s", os.getpid(), "saber run a.cwl", True)
        with Lease(url, "another-study"):
            pass  # other names are free
    with Lease(url, "s"):
        pass


def test_a_dead_holder_on_this_host_keeps_nothing(url: str) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    _plant(url, f"{socket.gethostname()}:{dead.pid}:12345")
    with Lease(url, "s") as lease:
        [held] = lease_holders(lease.engine)
        assert held.pid == os.getpid()


def test_another_host_holds_until_its_heartbeat_is_stale(url: str) -> None:
    _plant(url, "elsewhere:42:999", heartbeat_age_s=2)
    with pytest.raises(StudyBusy, match="pid 42 on elsewhere"):
        Lease(url, "s").acquire()
    Lease(url, "s").engine.dispose()


def test_another_host_silent_for_a_minute_is_gone(url: str) -> None:
    _plant(url, "elsewhere:42:999", heartbeat_age_s=60)
    with Lease(url, "s"):
        pass


def test_a_holder_killed_outright_frees_the_study_at_once(url: str) -> None:
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from saber.scores import Lease
        Lease({url!r}, "s").acquire()
        print("held", flush=True)
        time.sleep(300)
    """)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(StudyBusy):
        Lease(url, "s").acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    start = time.monotonic()
    with Lease(url, "s"):
        assert time.monotonic() - start < 5


def test_racing_drivers_one_wins(url: str) -> None:
    code = textwrap.dedent(f"""
        import sys, time
        from saber.scores import Lease, StudyBusy
        try:
            Lease({url!r}, "s").acquire()
        except StudyBusy:
            print("busy", flush=True); sys.exit(0)
        print("held", flush=True)
        time.sleep(3)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(3)]
    said = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert said == ["busy", "busy", "held"]
