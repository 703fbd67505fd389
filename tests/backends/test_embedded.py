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
