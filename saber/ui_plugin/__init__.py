"""saber's page in the Airflow UI: studies and sweeps, their trials, scores and plots."""

from saber.ui_plugin._plugin import SaberPlugin

__all__ = ["SaberPlugin"]
