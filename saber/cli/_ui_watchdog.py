"""The watchdog beside `saber ui`: nothing it started outlives it, however it ends (SIGKILL too).

The kernel sends each Airflow process SIGTERM when `saber ui` dies (``die_with_parent``), but
that does not stop a whole tree: the scheduler waits for its running tasks before it exits, and
each task runs in a process group of its own. This small process, in its own session, follows
`saber ui`'s process tree until its stdin closes (`saber ui` exited or was killed: nobody else
holds the pipe). Then it sends SIGTERM to every process group of that tree (a task's supervisor
passes it on to the task, whose ``on_kill`` kills its container), waits up to ``GRACE_S`` for
them to go, and SIGKILLs whatever is left.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

# The reaper of `saber cwl-runner` reads the same process table.
from saber.backends.embedded._reaper import _alive, _descendants

__all__ = ["GRACE_S", "start_watchdog"]

GRACE_S = 5.0  # Airflow's processes stop in 1-3 s on SIGTERM when idle
_POLL_S = 0.5


def start_watchdog() -> subprocess.Popen:
    """Start the watchdog of this process; it acts when this process ends."""
    return subprocess.Popen([sys.executable, "-m", "saber.cli._ui_watchdog", str(os.getpid())],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # a Ctrl-C or kill aimed at saber ui's group spares it


def _split(family: set[int], spare: int) -> tuple[set[int], set[int]]:
    """The process groups of ``family``, and its members to signal one by one: those in the
    group saber ui was started in (its shell pipeline's, say), which is spared."""
    groups, loose = set(), set()
    for pid in family:
        try:
            group = os.getpgid(pid)
        except OSError:
            continue
        if group == spare:
            loose.add(pid)
        else:
            groups.add(group)
    return groups, loose


def _signal(groups: set[int], pids: set[int], signum: int) -> None:
    for group in groups:
        try:
            os.killpg(group, signum)
        except OSError:
            pass
    for pid in pids:
        try:
            os.kill(pid, signum)
        except OSError:
            pass


def _gone(groups: set[int], pids: set[int]) -> bool:
    def group_empty(group: int) -> bool:
        try:
            os.killpg(group, 0)
        except OSError:
            return True
        return False

    return all(group_empty(g) for g in groups) and not any(_alive(p) for p in pids)


def watch(ui: int) -> None:
    spare = os.getpgid(ui)
    family: set[int] = set()
    while True:
        ready, _, _ = select.select([sys.stdin], [], [], _POLL_S)
        if ready and not sys.stdin.buffer.read1(64):
            break
        family = _descendants(ui)  # the last look before saber ui died: its orphans have new parents
    groups, loose = _split(family, spare)
    _signal(groups, loose, signal.SIGTERM)  # once each: a second SIGTERM hurries Airflow's shutdown
    deadline = time.monotonic() + GRACE_S
    while not _gone(groups, family) and time.monotonic() < deadline:
        time.sleep(0.1)
    _signal(groups, {p for p in family if _alive(p)}, signal.SIGKILL)


if __name__ == "__main__":
    watch(int(sys.argv[1]))
