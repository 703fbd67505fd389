"""The embedded default: a saber home's Airflow driven from this process, no server to start."""

from saber.backends.embedded._backend import EmbeddedBackend
from saber.backends.embedded._home import activate, airflow_env, ensure_database

__all__ = ["EmbeddedBackend", "activate", "airflow_env", "ensure_database"]
