"""`saber status`: the sweeps and studies in flight, and who drives each.

A name is in flight while a `saber run` holds its lease, or while it has RUNNING trials or
active DAG runs: a driver killed outright leaves them behind, and with its lease row they are
what tells the user to resume or cancel. Studies count their trials (Optuna); plain sweeps
count their points from the saber home's DAG runs (a point's latest attempt).
"""

from __future__ import annotations

import shlex
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Literal

from saber.errors import InputError
from saber.home import SaberHome

if TYPE_CHECKING:
    from saber.backends.embedded import HomeRun
    from saber.scores import LeaseHolder, StudyRow

__all__ = ["Flight", "flights"]

_UTC = timezone.utc  # noqa: UP017 (3.10)


@dataclass(frozen=True)
class Flight:
    """One sweep or study: its progress and its driver (the `saber run` holding its lease)."""

    name: str
    kind: Literal["study", "sweep"]
    dag_id: str | None
    running: int | None  # None: not known here (its runs live on another host or deployment)
    done: int | None
    failed: int | None
    started: datetime | None  # its driver's start, else its earliest run's
    holder: LeaseHolder | None
    resume: str  # the command that resumes it
    airflow: str | None = None  # the deployment its driver runs on (`--airflow URL`), if any

    @property
    def alive(self) -> bool:
        return self.holder is not None and self.holder.alive

    @property
    def in_flight(self) -> bool:
        return self.holder is not None or bool(self.running)

    @property
    def state(self) -> str:
        if self.alive:
            return "alive"
        if not self.in_flight:
            return "not running"
        return f"dead: resume with `{self.resume}` or `saber cancel {self.name}`"

    def age_s(self, now: datetime | None = None) -> float | None:
        return None if self.started is None else ((now or datetime.now(_UTC)) - self.started).total_seconds()

    def to_json(self) -> dict:
        holder = self.holder
        driver = None if holder is None else {
            "pid": holder.pid, "host": holder.host, "command": holder.command, "alive": holder.alive,
            "started_at": holder.started_at.isoformat(), "heartbeat_at": holder.heartbeat_at.isoformat()}
        age = self.age_s()
        return {"name": self.name, "kind": self.kind, "dag_id": self.dag_id, "running": self.running,
                "done": self.done, "failed": self.failed, "age_s": None if age is None else round(age, 1),
                "started_at": self.started.isoformat() if self.started else None, "driver": driver,
                "alive": self.alive, "state": self.state, "airflow": self.airflow}


def flights(name: str | None = None, *, every: bool = False, home: SaberHome | None = None) -> list[Flight]:
    """The sweeps and studies in flight (``every``: all known), or the one called ``name``
    (InputError naming the known ones if there is none)."""
    from saber.backends.embedded import home_runs
    from saber.scores import ResultsStore, lease_holders, results_url

    home = home or SaberHome.from_env()
    with ResultsStore(results_url(home)) as store:
        leases = {h.name: h for h in lease_holders(store.engine)}
        studies = {s.name: s for s in store.list_studies()}
    if name is not None:
        runs = home_runs(home, names={name})
        if name not in leases and name not in studies and not runs:
            known = sorted({*leases, *studies, *(r.name for r in home_runs(home))})
            raise InputError(f"no study or sweep named '{name}' in {home.root} or its results database; "
                             + (f"known names: {', '.join(known)}" if known else "nothing has run there yet"))
        names = [name]
    elif every:
        runs = home_runs(home)
        names = sorted({*leases, *studies, *(r.name for r in runs)})
    else:
        running = {n for n, s in studies.items() if s.states.get("RUNNING")}
        names = sorted({*leases, *running, *(r.name for r in home_runs(home, active_only=True))})
        runs = home_runs(home, names=set(names)) if names else []
    by_name: dict[str, list[HomeRun]] = {}
    for run in runs:
        by_name.setdefault(run.name, []).append(run)
    return [_flight(n, leases.get(n), studies.get(n), by_name.get(n, [])) for n in names]


def _flight(name: str, holder: LeaseHolder | None, study: StudyRow | None, runs: list[HomeRun]) -> Flight:
    airflow = holder and _airflow_url(holder.command)
    if study is not None:
        counts: tuple[int | None, ...] = (study.states.get("RUNNING", 0), study.states.get("COMPLETE", 0),
                                          study.states.get("FAIL", 0) + study.states.get("PRUNED", 0))
    elif runs or (holder is not None and not airflow and holder.host == socket.gethostname()):
        counts = _point_counts(runs)
    else:
        counts = (None, None, None)  # its runs are elsewhere: another host's home, a deployment
    active = [r.start for r in runs if r.active and r.start]
    started = holder.started_at if holder else min(active or [r.start for r in runs if r.start] or
                                                   [_created(study)], default=None)
    dag_id = (study and study.dag_id) or next((r.dag_id for r in runs), None)
    return Flight(name=name, kind="study" if study else "sweep", dag_id=dag_id, running=counts[0],
                  done=counts[1], failed=counts[2], started=started, holder=holder,
                  resume=_resume(name, holder, study), airflow=airflow or None)


def _point_counts(runs: Iterable[HomeRun]) -> tuple[int, int, int]:
    """(running, done, failed) points: a point rerun under `-k` counts by its latest attempt."""
    latest: dict[int, HomeRun] = {}
    for run in runs:
        if run.number not in latest or run.attempt > latest[run.number].attempt:
            latest[run.number] = run
    states = [r.state for r in latest.values()]
    return (sum(r.active for r in latest.values()), states.count("success"), states.count("failed"))


def _created(study: StudyRow | None) -> datetime | None:
    try:
        return datetime.fromisoformat(study.created) if study and study.created else None
    except ValueError:
        return None


def _resume(name: str, holder: LeaseHolder | None, study: StudyRow | None) -> str:
    """`saber run ...` as the driver was started, with the name that resumes it."""
    words = _words(holder.command) if holder else []
    if words and words[0] == "run":
        args = words
    elif study is not None and study.workflow:
        args = ["run", study.workflow, *([study.sweep] if study.sweep else [])]
    else:
        args = ["run", "…"]
    if not {"--study", "--sweep-id"} & set(args) and not any(a.startswith(("--study=", "--sweep-id="))
                                                               for a in args):
        args += ["--study", name]
    return "saber " + " ".join(a if a == "…" else shlex.quote(a) for a in args)


def _words(command: str) -> list[str]:
    """The arguments of a recorded command line (the lease keeps ``sys.argv``): the words
    after the program."""
    return command.split()[1:]


def _airflow_url(command: str) -> str | None:
    words = command.split()
    for i, word in enumerate(words):
        if word == "--airflow" and i + 1 < len(words):
            return words[i + 1]
        if word.startswith("--airflow="):
            return word.split("=", 1)[1]
    return None
