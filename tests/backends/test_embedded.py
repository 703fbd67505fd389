"""The embedded backend keeps the contract (real Airflow in this process, real Docker)."""

from __future__ import annotations

import pytest
from saber_testing import HOME, needs_docker

from saber.backends.testing import BackendContract

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow]


class TestEmbeddedBackend(BackendContract):
    @pytest.fixture
    def backend_factory(self, saber_home):
        from saber.backends.embedded import EmbeddedBackend

        return lambda: EmbeddedBackend(home=HOME, workers=2)

    def test_a_step_from_the_cache_shows_in_progress(self, backend_factory, contract_plan):
        """The same inputs twice: the second run's step comes from the step cache, and live
        progress counts it as cached, as its outcome does."""
        import uuid

        from saber.backends._base import RunRequest
        from saber.plan import run_conf

        x = 0.5 + uuid.uuid4().int % 10**6 / 10**8  # inputs no earlier run of the session had
        backend = backend_factory()
        backend.start()
        backend.prepare(contract_plan)
        try:
            seen: dict[str, list] = {}
            for name in ("first", "again"):
                run_id = f"{name}_{uuid.uuid4().hex[:8]}"
                conf = run_conf({"x": x}, {"sweep_id": "c", "point": 0, "params": {}, "step_inputs": {}})
                backend.submit([RunRequest(run_id=run_id, conf=conf)])
                progress: list = []
                assert backend.wait([run_id], on_progress=progress.extend) == {run_id: "success"}
                seen[name] = [progress[-1].cached, [s.cached for s in backend.outcome(run_id).steps]]
        finally:
            backend.close()
        assert seen == {"first": [0, [False]], "again": [1, [True]]}


def test_an_unchanged_dag_is_not_synced_again(saber_home, contract_plan, monkeypatch):
    """The DAG file is parsed and written to Airflow's database once; a run of the same DAG
    file and plan reads it back; a changed plan (or marker-less file) syncs again."""
    import copy
    import uuid

    from saber.backends.embedded import EmbeddedBackend, _compat
    from saber.backends._base import RunRequest
    from saber.plan import run_conf

    synced = []
    full = _compat.sync_dag
    monkeypatch.setattr(_compat, "sync_dag", lambda *a, **k: synced.append(a[0].stem) or full(*a, **k))

    def run_once(plan: dict) -> str:
        backend = EmbeddedBackend(home=HOME, workers=1)
        backend.start()
        backend.prepare(plan)
        try:
            run_id = f"sync_{uuid.uuid4().hex[:8]}"
            conf = run_conf({"x": 0.25}, {"sweep_id": "s", "point": 0, "params": {}, "step_inputs": {}, "cache": False})
            backend.submit([RunRequest(run_id=run_id, conf=conf)])
            return backend.wait([run_id])[run_id]
        finally:
            backend.close()

    plan = copy.deepcopy(contract_plan)
    plan["dag_id"] = f"sync_{uuid.uuid4().hex[:6]}"
    assert run_once(plan) == "success" and synced == [plan["dag_id"]]
    assert run_once(plan) == "success" and synced == [plan["dag_id"]]  # read back, not parsed
    plan["doc"] = "a changed plan"
    assert run_once(plan) == "success" and synced == [plan["dag_id"]] * 2
