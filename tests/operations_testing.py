"""Shared by the operations tests (status, cancel): lease rows and studies planted in a saber
home's results database as drivers, live or dead, leave them."""

from __future__ import annotations

import socket
import subprocess
from datetime import datetime, timedelta, timezone

from saber.home import SaberHome
from saber.scores import ResultsStore, results_url
from saber.scores._lease import _create, leases_table

__all__ = ["HOST", "dead_pid", "plant_lease", "plant_study", "trial_states"]

HOST = socket.gethostname()


def plant_lease(home: SaberHome, name: str, holder: str, *, command: str = "", age_s: float = 0.0) -> None:
    """A lease row as a driver (maybe dead, maybe on another host) left it."""
    now = datetime.now(timezone.utc)  # noqa: UP017 (3.10)
    with ResultsStore(results_url(home)) as store:
        _create(store.engine)
        with store.engine.begin() as conn:
            conn.execute(leases_table.insert().values(
                name=name, holder=holder, command=command or f"/usr/bin/saber run wf.cwl --study {name}",
                started_at=now - timedelta(seconds=age_s), heartbeat_at=now - timedelta(seconds=age_s)))


def dead_pid() -> int:
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


def plant_study(home: SaberHome, name: str, *, complete: int = 1, failed: int = 0, running: int = 1) -> None:
    """A study as the optimizer leaves it: trials told, and ``running`` asked and not told."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with ResultsStore(results_url(home)) as store:
        study = optuna.create_study(study_name=name, storage=store.storage)
        for key, value in {"saber_workflow": "/w/flow.cwl", "saber_sweep": "/w/sweep.yml",
                           "saber_dag_id": "flow", "saber_created": "2025-06-01T12:00:00+00:00"}.items():
            study.set_user_attr(key, value)
        for state, count in ((optuna.trial.TrialState.COMPLETE, complete), (optuna.trial.TrialState.FAIL, failed)):
            for _ in range(count):
                study.add_trial(optuna.trial.create_trial(state=state, value=1.0 if state.name == "COMPLETE"
                                                          else None))
        for _ in range(running):
            study.ask()


def trial_states(home: SaberHome, name: str) -> list[str]:
    with ResultsStore(results_url(home)) as store:
        study_id = store.storage.get_study_id_from_name(name)
        return [t.state.name for t in store.storage.get_all_trials(study_id)]
