"""The ``airflow`` backend: a real Airflow 3 deployment, through its REST API v2."""

from saber.backends.remote._backend import AirflowBackend
from saber.backends.remote._client import AirflowClient

__all__ = ["AirflowBackend", "AirflowClient"]
