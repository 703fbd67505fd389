"""`[core] hostname_callable` for several Airflow workers on one machine: each reports its own
name (``$SABER_WORKER_NAME``) as the ``hostname`` of the task instances it runs, instead of the
machine's name they would all share. Put this folder on the workers' PYTHONPATH and set
``AIRFLOW__CORE__HOSTNAME_CALLABLE=saber_worker_hostname.hostname`` (scripts/airflow-deployment.sh
and tests/celery_deployment.py do)."""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    """``$SABER_WORKER_NAME``, else the machine's fully qualified name (Airflow's default)."""
    return os.environ.get("SABER_WORKER_NAME") or socket.getfqdn()
