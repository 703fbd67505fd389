"""Where DAG runs execute: the ``Backend`` protocol and its implementations.

``embedded`` (the default) drives Airflow inside this process on a saber home; ``airflow``
submits to a running Airflow deployment through its REST API v2. Implementations are imported
only when asked for: the embedded one pulls in Airflow, the remote one only httpx.
"""

from __future__ import annotations

from typing import Any

from saber.backends._base import (
    TERMINAL,
    Backend,
    Capabilities,
    RunOutcome,
    RunProgress,
    RunRequest,
    RunState,
    StepRecord,
    run_state,
)

__all__ = ["TERMINAL", "Backend", "Capabilities", "RunOutcome", "RunProgress", "RunRequest", "RunState",
           "StepRecord", "get_backend", "run_state"]


def get_backend(name: str, **settings: Any) -> Backend:
    """A backend by name: ``embedded`` (settings: home, workers, ...) or ``airflow`` (url,
    dags_folder, ...)."""
    if name == "embedded":
        from saber.backends.embedded import EmbeddedBackend

        return EmbeddedBackend(**settings)
    if name == "airflow":
        from saber.backends.remote import AirflowBackend

        return AirflowBackend(**settings)
    raise ValueError(f"unknown backend {name!r}: embedded or airflow")
