"""The embedded default: a saber home's Airflow driven from this process, no server to start."""

from saber.backends.embedded._backend import EmbeddedBackend
from saber.backends.embedded._home import activate, airflow_env, ensure_database
from saber.backends.embedded._home_runs import HomeRun, Stopped, home_runs, running_containers, stop_runs

__all__ = ["EmbeddedBackend", "HomeRun", "Stopped", "activate", "airflow_env", "ensure_database", "home_runs",
           "running_containers", "stop_runs"]
