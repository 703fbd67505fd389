"""A watchdog that cleans up after a saber process that is killed outright (SIGKILL).

A runner killed by cwltest's timeout, or by the OOM killer, cannot stop its containers: the
`docker run` clients die with it but their containers run on. The reaper is a separate small
process in its own session. It follows the runner's process tree; if the runner dies without
saying goodbye, it kills the runner's remaining processes, then every container whose cidfile
cwltool left under the watched folder, and removes that folder if asked.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["Reaper"]

_POLL_S = 0.5


class Reaper:
    """Start with ``Reaper(folder)``; call ``release()`` when the runner has cleaned up itself."""

    def __init__(self, folder: Path, *, remove: bool) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "saber.backends.embedded._reaper", str(os.getpid()), str(folder), "1" if remove else "0"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)  # a Ctrl-C or kill aimed at the runner's group spares it
        self.fd = self.proc.stdin.fileno()

    def release(self) -> None:
        """The runner finished normally: the reaper exits without touching anything."""
        try:
            self.proc.stdin.write(b"ok\n")
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.wait(timeout=10)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found and child != os.getpid():
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _kill_containers(folder: Path) -> None:
    ids = [p.read_text().strip() for p in folder.glob("**/*.cid") if p.is_file()]
    ids = [i for i in ids if i]
    if ids:
        subprocess.run(["docker", "kill", *ids], capture_output=True, timeout=60)


def watch(runner: int, folder: Path, remove: bool) -> None:
    family: set[int] = set()
    listening = True
    while True:
        if listening:
            ready, _, _ = select.select([sys.stdin], [], [], _POLL_S)
            if ready:
                said = sys.stdin.buffer.read1(16)
                if said.startswith(b"ok"):
                    return
                listening = bool(said)  # EOF: only the process table tells from now on
        else:
            time.sleep(_POLL_S)
        if not _alive(runner):
            break
        family = _descendants(runner)
    for pid in family:  # processes first, so no new container starts while we clean up
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    _kill_containers(folder)
    time.sleep(1)
    _kill_containers(folder)  # one created in the moment between the two passes
    if remove:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    watch(int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1")
