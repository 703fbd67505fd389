"""A watchdog that cleans up after a saber process that is killed outright (SIGKILL).

A runner killed by cwltest's timeout, the OOM killer or a lost session cannot stop its
containers: the `docker run` clients die with it but their containers run on, and its DAG runs
stay `running` for any scheduler to finish behind the results store's back. The reaper is a
separate small process in its own session. It follows the runner's process tree; if the runner
dies without saying goodbye, it kills the runner's remaining processes, then every container
whose cidfile cwltool left under the watched folders, removes the first folder if asked, and
fails the DAG runs (and their study trials) the runner told it about.

The runner talks to it on its stdin, one JSON object a line: {"watch": folder},
{"runs": [dag_id, [run_id, ...]]}, {"done": [dag_id, [run_id, ...]]} and {"ok": true} (released).
"""

from __future__ import annotations

import json
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

    def __init__(self, folder: Path | None = None, *, remove: bool = False) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "saber.backends.embedded._reaper", str(os.getpid()), str(folder or ""),
             "1" if remove else "0"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)  # a Ctrl-C or kill aimed at the runner's group spares it

    def watch(self, folder: Path) -> None:
        """Containers with a cidfile under ``folder`` are killed if the runner dies."""
        self._say({"watch": str(folder)})

    def runs(self, dag_id: str, run_ids: list[str], *, done: bool = False) -> None:
        """Runs started (to be failed if the runner dies), or ``done``: settled by the runner."""
        self._say({"done" if done else "runs": [dag_id, list(run_ids)]})

    def _say(self, message: dict) -> None:
        try:
            self.proc.stdin.write(json.dumps(message).encode() + b"\n")
            self.proc.stdin.flush()
        except (OSError, ValueError):
            pass  # the reaper is gone: nothing more to tell it

    def release(self) -> None:
        """The runner finished normally: the reaper exits without touching anything."""
        self._say({"ok": True})
        try:
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


def _kill_containers(folders: list[Path]) -> None:
    from saber.execution._retry import mark_stopped

    for folder in folders:  # each a run's work folder (or a throw-away home): no try again
        mark_stopped(folder)
    ids = [p.read_text().strip() for folder in folders for p in folder.glob("**/*.cid") if p.is_file()]
    ids = [i for i in ids if i]
    if ids:
        subprocess.run(["docker", "kill", *ids], capture_output=True, timeout=60)


class _Told:
    """What the runner said so far."""

    def __init__(self, folder: Path | None) -> None:
        self.folders: list[Path] = [folder] if folder else []
        self.runs: dict[str, dict[str, None]] = {}  # dag_id -> run ids (ordered)
        self.released = False
        self._buffer = b""

    def hear(self, data: bytes) -> None:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("ok"):
                self.released = True
            elif "watch" in message:
                self.folders.append(Path(message["watch"]))
            elif "runs" in message:
                dag_id, ids = message["runs"]
                self.runs.setdefault(dag_id, {}).update(dict.fromkeys(ids))
            elif "done" in message:
                dag_id, ids = message["done"]
                for run_id in ids:
                    self.runs.get(dag_id, {}).pop(run_id, None)


def watch(runner: int, folder: Path | None, remove: bool) -> None:
    family: set[int] = set()
    told = _Told(folder)
    listening = True
    while True:
        if listening:
            ready, _, _ = select.select([sys.stdin], [], [], _POLL_S)
            if ready:
                said = os.read(sys.stdin.fileno(), 65536)
                told.hear(said)
                if told.released:
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
    _kill_containers(told.folders)
    time.sleep(1)
    _kill_containers(told.folders)  # one created in the moment between the two passes
    for dag_id, run_ids in told.runs.items():
        if run_ids:  # Airflow is imported only now, in a child with the runner's environment
            subprocess.run([sys.executable, "-m", "saber.backends.embedded._orphans", dag_id, *run_ids],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    if remove and folder:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    watch(int(sys.argv[1]), Path(sys.argv[2]) if sys.argv[2] else None, sys.argv[3] == "1")
