"""Fixtures; the session's $SABER_HOME is set up by saber_testing before airflow is imported."""

from __future__ import annotations

import pytest
from saber_testing import HOME

from saber.embedded import SaberHome


@pytest.fixture(scope="session")
def saber_home() -> SaberHome:
    HOME.ensure_database()
    return HOME
