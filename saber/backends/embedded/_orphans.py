"""What the reaper runs after an embedded runner died outright (and `saber cancel` after a
driver it finds dead): its DAG runs still active are
failed (nothing drives them any more, and a scheduler that later sees the DAG must not finish
them behind the results store's back), and so are their study trials, naming why.

``python -m saber.backends.embedded._orphans DAG_ID RUN_ID...``, in the dead runner's
environment (its saber home).
"""

from __future__ import annotations

import sys

__all__ = ["settle_orphans"]

ERROR = "its saber run died (killed) before the trial finished"


def settle_orphans(dag_id: str, run_ids: list[str], *,
                   error: str = ERROR) -> tuple[list[str], dict[str, list[int]]]:
    """Fail the active runs among ``run_ids``, and their trials with ``error``; returns the runs
    failed and {study: [trial numbers failed]}."""
    from saber.backends.embedded import _compat
    from saber.plan import CONF_KEY

    session = _compat.new_session()
    try:
        runs = [dr for r in run_ids if (dr := _compat.get_run(session, dag_id, r)) is not None]
        going = [dr for dr in runs if dr.state in _compat.ACTIVE_RUN_STATES]
        failed = [dr.run_id for dr in going]
        trials: dict[str, set[int]] = {}
        for dr in going:
            own = (dr.conf or {}).get(CONF_KEY) or {}
            if "study" in own and "trial" in own:
                trials.setdefault(own["study"], set()).add(int(own["trial"]))
        _compat.fail_runs(session, failed)
    finally:
        session.close()
    return failed, _fail_trials(trials, error) if trials else {}


def _fail_trials(trials: dict[str, set[int]], error: str) -> dict[str, list[int]]:
    from saber.optimize._compat import fail_trials
    from saber.scores import ResultsStore, results_url

    with ResultsStore(results_url()) as store:
        return {study: fail_trials(store.storage, study, numbers, error) for study, numbers in trials.items()}


if __name__ == "__main__":
    settle_orphans(sys.argv[1], sys.argv[2:])
