"""Shared by the bench scripts: reading Airflow's timestamps and task logs."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path


def ts(value: str | None) -> float | None:
    """An Airflow timestamp (stored in UTC) as epoch seconds."""
    if not value:
        return None
    t = dt.datetime.fromisoformat(value)
    return (t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)).timestamp()


def task_segments(logs: Path, run_id: str = "*") -> tuple[list[float], list[float], list[float]]:
    """Per task, from its Airflow log: task start -> `docker run` issued -> cwltool done -> log end."""
    pre, tool, post = [], [], []
    for f in logs.glob(f"dag_id=*/run_id={run_id}/task_id=*/**/attempt=*.log"):
        start = launch = done = end = None
        for line in f.read_text(errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            t = ts(rec.get("timestamp", "").replace("Z", "+00:00"))
            ev = str(rec.get("event", ""))
            start = start or t
            end = t
            if "[job " in ev and "docker" in ev and launch is None:
                launch = t
            if "completed success" in ev:
                done = t
        if None not in (start, launch, done, end):
            pre.append(launch - start)
            tool.append(done - launch)
            post.append(end - done)
    return pre, tool, post


def stop_warm_servers(home: Path) -> int:
    """SIGTERM the warm servers (saber.cli._warm_server) a benchmark's throw-away ``home`` started;
    how many there were. They would exit on their own once idle."""
    import os
    import signal

    stopped = 0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if b"saber.cli._warm_server" not in (proc / "cmdline").read_bytes():
                continue
            if f"SABER_HOME={home}".encode() not in (proc / "environ").read_bytes().split(b"\0"):
                continue
            os.kill(int(proc.name), signal.SIGTERM)
            stopped += 1
        except (OSError, ValueError):
            continue
    return stopped
