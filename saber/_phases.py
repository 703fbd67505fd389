"""Opt-in timing marks: where the fixed cost of one `saber run` or `saber-cwl-runner` call goes.

With ``$SABER_PHASES`` naming a file, each ``mark(name)`` appends one JSON line
``{"phase": name, "t": <epoch seconds>, "pid": <pid>}`` to it; unset, a mark only reads the
environment. A mark is named for the phase that ends there. The file is opened in append mode
for every mark, so the marks of the forked compile child, the worker processes and Airflow's
task processes (which inherit the environment) land in the same file, each line whole
(`bench/p2_breakdown.py` reads them).
"""

from __future__ import annotations

import json
import os
import time

__all__ = ["ENV", "mark", "process_start"]

ENV = "SABER_PHASES"


def mark(name: str, *, at: float | None = None) -> None:
    """Note that phase ``name`` ended now (or at ``at``, epoch seconds), if marks are on."""
    path = os.environ.get(ENV)
    if not path:
        return
    line = json.dumps({"phase": name, "t": time.time() if at is None else at, "pid": os.getpid()})
    # One write of one short line on an O_APPEND descriptor: lines of concurrent processes
    # never interleave.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def process_start() -> float | None:
    """When this process started (epoch seconds, to the kernel's clock tick), or None off Linux.

    /proc/self/stat gives the start in ticks since boot; its age against /proc/uptime avoids
    /proc/stat's boot time, which is whole seconds."""
    try:
        with open("/proc/self/stat") as f:
            # The command name (field 2) may hold spaces: count the fields after its ')'.
            started = int(f.read().rpartition(")")[2].split()[19]) / os.sysconf("SC_CLK_TCK")
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return time.time() - (uptime - started)
