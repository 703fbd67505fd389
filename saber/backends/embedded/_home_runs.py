"""The sweeps and studies whose DAG runs a saber home holds, seen from outside the `saber run`
that drives them: what `saber status` reads, and what `saber cancel` stops when that driver is
dead. A run id names its sweep: ``<name>_pNNNN`` (a point; ``-k``: its k-th attempt) or
``<name>_tNNNN`` (a study's trial)."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timezone

from saber.home import SaberHome

__all__ = ["HomeRun", "Stopped", "home_runs", "running_containers", "stop_runs"]

_RUN_ID = re.compile(r"^(?P<name>.+)_(?P<kind>[pt])(?P<number>\d{4,})(?:-(?P<attempt>\d+))?$")
_ACTIVE = ("queued", "running")
_UTC = timezone.utc  # noqa: UP017 (3.10)


@dataclass(frozen=True)
class HomeRun:
    """One DAG run of a sweep point or a study trial."""

    dag_id: str
    run_id: str
    state: str  # Airflow's: queued, running, success, failed
    start: datetime | None
    name: str  # the sweep's or study's
    number: int  # the point's index or the trial's number
    attempt: int = 1

    @property
    def active(self) -> bool:
        return self.state in _ACTIVE


@dataclass
class Stopped:
    """What stopping runs did."""

    runs: list[str] = field(default_factory=list)  # DAG runs failed
    containers: list[str] = field(default_factory=list)  # containers killed
    trials: dict[str, list[int]] = field(default_factory=dict)  # study -> trials failed


def home_runs(home: SaberHome, *, names: Collection[str] | None = None,
              active_only: bool = False) -> list[HomeRun]:
    """The runs of sweeps and studies in ``home`` (of ``names`` only, if given)."""
    if not home.database.exists():
        return []  # nothing ever ran in this home: no reason to import Airflow
    from saber.backends.embedded._home import activate

    activate(home)
    from saber.backends.embedded import _compat

    session = _compat.new_session()
    try:
        rows = _compat.list_runs(session, prefixes=None if names is None else [f"{n}_" for n in names],
                                 active_only=active_only)
    finally:
        session.close()
    runs = [run for row in rows if (run := _parse(*row)) is not None]
    return [r for r in runs if names is None or r.name in names]


def stop_runs(home: SaberHome, dag_id: str, run_ids: list[str], *, error: str) -> Stopped:
    """Kill the containers of these runs and fail those still active, with their trials
    (``error`` says why): for runs whose driver is gone."""
    from saber.backends.embedded._home import activate

    activate(home)
    from saber.backends.embedded._orphans import settle_orphans
    from saber.backends.embedded._runner import kill_containers

    # Containers first: a run failed while its container still writes would look settled.
    containers = kill_containers(dag_id, run_ids)
    runs, trials = settle_orphans(dag_id, run_ids, error=error)
    return Stopped(runs=runs, containers=containers, trials=trials)


def running_containers(home: SaberHome, dag_id: str, run_ids: list[str]) -> list[str]:
    """The containers of these runs that are running now."""
    import subprocess

    from saber.backends.embedded._home import activate
    from saber.backends.embedded._runner import container_ids

    activate(home)  # where the runs' cidfiles are: the home's storage
    ids = container_ids(dag_id, run_ids)
    if not ids:
        return []
    listed = subprocess.run(["docker", "ps", "--quiet", "--no-trunc"], capture_output=True, text=True, timeout=60)
    up = set(listed.stdout.split())
    return [i for i in ids if i in up]


def _parse(dag_id: str, run_id: str, state, start: datetime | None) -> HomeRun | None:
    match = _RUN_ID.match(run_id)
    if match is None:
        return None  # a run not made by `saber run` (the UI's Trigger form, saber cwl-runner)
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=_UTC)
    return HomeRun(dag_id=dag_id, run_id=run_id, state=str(getattr(state, "value", state)), start=start,
                   name=match["name"], number=int(match["number"]), attempt=int(match["attempt"] or 1))
