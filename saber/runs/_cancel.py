"""`saber cancel NAME`: stop a sweep or study, whether its driver lives or died.

A live driver on this host is asked to stop as `kill PID` would (SIGTERM): it fails its runs,
kills its containers and settles its trials itself, as on Ctrl-C; one that does not exit in
time is killed outright. What a dead driver left (active DAG runs, their containers, RUNNING
trials, its lease row) is then cleaned up here, through the saber home. A live driver on
another host is refused: its process and its home are out of reach from here.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from saber.errors import InputError
from saber.home import SaberHome
from saber.runs._status import Flight, flights

if TYPE_CHECKING:
    from saber.backends.embedded import HomeRun
    from saber.scores import LeaseHolder

__all__ = ["CANCELLED", "Cancelled", "cancel"]

CANCELLED = "cancelled by saber cancel"  # why its runs' trials failed
_POLL_S = 0.25
_KILLED_S = 10.0  # a SIGKILLed process is gone at once; its zombie may take a moment


@dataclass
class Cancelled:
    """What `saber cancel` did."""

    name: str
    driver: LeaseHolder | None = None  # the `saber run` that held it, alive or dead
    stopped: bool = False  # the driver was alive and is stopped
    waited_s: float = 0.0  # until it exited
    killed: bool = False  # it did not stop in time: SIGKILL
    runs: list[str] = field(default_factory=list)  # DAG runs failed (by the driver or here)
    containers: int = 0  # containers stopped
    trials: list[int] = field(default_factory=list)  # trials failed
    lease_dropped: bool = False  # a dead driver's lease row removed
    elsewhere: str | None = None  # where its runs live when not in this home: not stopped from here

    @property
    def nothing(self) -> bool:
        return not (self.stopped or self.runs or self.containers or self.trials or self.lease_dropped)


def cancel(name: str, *, timeout: float = 60.0, home: SaberHome | None = None,
           on_step: Callable[[str], None] | None = None) -> Cancelled:
    """Stop ``name``'s driver (``timeout`` s for a SIGTERM, then SIGKILL) and what it left."""
    home = home or SaberHome.from_env()
    [flight] = flights(name, home=home)
    done = Cancelled(name=name, driver=flight.holder, elsewhere=_elsewhere(flight))
    if not flight.in_flight:
        return done
    holder = flight.holder
    if holder is not None and holder.alive:
        _refuse_other_host(name, holder)
    before = _active(home, name)
    containers = _running(home, before)
    trials = _trial_states(home, name) if flight.kind == "study" else {}
    if holder is not None and holder.alive:
        done.stopped = True
        done.waited_s, done.killed = _stop_driver(holder, timeout, on_step or (lambda _: None))
    done.lease_dropped = _clean_up(home, name, before, holder)
    after = {r.run_id: r.state for r in _runs(home, name)}
    done.runs = [r.run_id for r in before if after.get(r.run_id) == "failed"]
    done.containers = len(set(containers) - set(_running(home, before)))
    now = _trial_states(home, name) if trials else {}
    done.trials = [n for n, s in trials.items() if s == "RUNNING" and now.get(n) == "FAIL"]
    return done


def _refuse_other_host(name: str, holder: LeaseHolder) -> None:
    if holder.host != socket.gethostname():
        raise InputError(f"'{name}' is driven by pid {holder.pid} on host {holder.host}, not on this one "
                         f"({socket.gethostname()}): run `saber cancel {name}` on {holder.host}")


def _stop_driver(holder: LeaseHolder, timeout: float, say: Callable[[str], None]) -> tuple[float, bool]:
    """SIGTERM, then SIGKILL if it is still there after ``timeout`` s; (seconds waited, killed)."""
    start = time.monotonic()
    try:
        os.kill(holder.pid, signal.SIGTERM)
    except ProcessLookupError:
        return 0.0, False  # it ended meanwhile
    except PermissionError as e:
        raise InputError(f"pid {holder.pid}, which drives '{holder.name}', belongs to another user: stop "
                         f"it as that user (kill {holder.pid})") from e
    say(f"asked pid {holder.pid} to stop (SIGTERM); waiting up to {timeout:g} s for it to clean up")
    if _gone(holder, timeout):
        return time.monotonic() - start, False
    say(f"pid {holder.pid} did not stop within {timeout:g} s: killing it (SIGKILL)")
    try:
        os.kill(holder.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _gone(holder, _KILLED_S)
    return time.monotonic() - start, True


def _gone(holder: LeaseHolder, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while holder.alive:
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)
    return True


def _clean_up(home: SaberHome, name: str, before: list[HomeRun], holder: LeaseHolder | None) -> bool:
    """What a dead driver left (after a driver that stopped itself, nothing is); True if its
    lease row was left and is dropped."""
    from saber.backends.embedded import stop_runs
    from saber.optimize._compat import fail_trials
    from saber.scores import ResultsStore, drop_lease, results_url

    # The runs active before (their containers may outlive a killed driver) and any started since.
    runs = {r.run_id: r for r in [*before, *_active(home, name)]}
    for dag_id, ids in _by_dag(runs.values()).items():
        stop_runs(home, dag_id, ids, error=CANCELLED)
    with ResultsStore(results_url(home)) as store:
        # Trials whose run never started, or ran elsewhere: nothing else will settle them now.
        running = {n for n, s in _trial_states(home, name, store).items() if s == "RUNNING"}
        if running:
            fail_trials(store.storage, name, running, CANCELLED)
        return holder is not None and not holder.alive and drop_lease(store.engine, holder)


def _runs(home: SaberHome, name: str) -> list[HomeRun]:
    from saber.backends.embedded import home_runs

    return home_runs(home, names={name})


def _active(home: SaberHome, name: str) -> list[HomeRun]:
    return [r for r in _runs(home, name) if r.active]


def _running(home: SaberHome, runs: list[HomeRun]) -> list[str]:
    from saber.backends.embedded import running_containers

    return [c for dag_id, ids in _by_dag(runs).items() for c in running_containers(home, dag_id, ids)]


def _by_dag(runs: Iterable[HomeRun]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for run in runs:
        grouped.setdefault(run.dag_id, []).append(run.run_id)
    return grouped


def _trial_states(home: SaberHome, name: str, store=None) -> dict[int, str]:
    """Trial number -> state name of study ``name`` ({} if there is none)."""
    from saber.scores import ResultsStore, results_url

    if store is None:
        with ResultsStore(results_url(home)) as opened:
            return _trial_states(home, name, opened)
    try:
        study_id = store.storage.get_study_id_from_name(name)
    except KeyError:
        return {}
    return {t.number: t.state.name for t in store.storage.get_all_trials(study_id, deepcopy=False)}


def _elsewhere(flight: Flight) -> str | None:
    """Where the runs of ``flight`` live when not in this saber home."""
    if flight.airflow:
        return f"the Airflow deployment at {flight.airflow}"
    if flight.holder is not None and flight.holder.host != socket.gethostname():
        return f"the saber home of host {flight.holder.host}"
    return None
