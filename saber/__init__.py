"""saber: CWL workflows and parameter sweeps compiled to Airflow 3 DAGs running in Docker."""

__version__ = "0.1.0"
