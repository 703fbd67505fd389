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
