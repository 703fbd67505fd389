"""What the reaper runs after an embedded runner died outright: its DAG runs still active are
failed (nothing drives them any more, and a scheduler that later sees the DAG must not finish
them behind the results store's back), and so are their study trials, naming why.

``python -m saber.backends.embedded._orphans DAG_ID RUN_ID...``, in the dead runner's
environment (its saber home).
"""

from __future__ import annotations

import sys

__all__ = ["settle_orphans"]

ERROR = "its saber run died (killed) before the trial finished"


def settle_orphans(dag_id: str, run_ids: list[str]) -> dict[str, list[int]]:
    """Fail the active runs among ``run_ids``; returns {study: [trial numbers failed]}."""
    from saber.backends.embedded import _compat
    from saber.plan import CONF_KEY

    session = _compat.new_session()
    try:
        runs = [dr for r in run_ids if (dr := _compat.get_run(session, dag_id, r)) is not None]
        going = [dr for dr in runs if dr.state in _compat.ACTIVE_RUN_STATES]
        trials: dict[str, set[int]] = {}
        for dr in going:
            own = (dr.conf or {}).get(CONF_KEY) or {}
            if "study" in own and "trial" in own:
                trials.setdefault(own["study"], set()).add(int(own["trial"]))
        _compat.fail_runs(session, [dr.run_id for dr in going])
    finally:
        session.close()
    return _fail_trials(trials) if trials else {}


def _fail_trials(trials: dict[str, set[int]]) -> dict[str, list[int]]:
    from saber.optimize._compat import fail_trials
    from saber.scores import ResultsStore, results_url

    with ResultsStore(results_url()) as store:
        return {study: fail_trials(store.storage, study, numbers, ERROR) for study, numbers in trials.items()}


if __name__ == "__main__":
    settle_orphans(sys.argv[1], sys.argv[2:])
