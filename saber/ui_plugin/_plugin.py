"""The Airflow plugin: saber's Studies app mounted at /saber and its entry in the UI's Browse menu."""

from __future__ import annotations

import functools
import logging
from typing import Any

from saber.errors import SaberError
from saber.ui_plugin import _listener
from saber.ui_plugin._compat import AirflowPlugin

__all__ = ["SaberPlugin"]

log = logging.getLogger(__name__)


class SaberPlugin(AirflowPlugin):
    """Registered through the ``airflow.plugins`` entry point: any Airflow with saber installed
    shows the page, no file copied into a plugins folder."""

    name = "saber"
    # The UI shows href (relative to its base URL) in an iframe at /plugin/saber.
    external_views = [{"name": "Studies", "href": "saber/", "destination": "nav", "url_route": "saber",
                       "category": "browse"}]
    # A scored run triggered by hand (Trigger form, REST API) is recorded as a trial when it ends.
    listeners = [_listener]

    @property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        """Built on first use: every Airflow process loads plugins (scheduler, workers), only the
        api-server mounts apps, and only it should pay for FastAPI and Airflow's security module."""
        app = _app()
        return [] if app is None else [{"app": app, "url_prefix": "/saber", "name": "saber studies"}]


@functools.cache
def _app() -> Any:
    from saber.ui_plugin._app import create_app

    try:
        return create_app()
    except SaberError as e:
        # An untested Airflow or Optuna: the page is left out, the api-server still starts.
        log.error("saber's Studies page is not served: %s", e)
        return None
