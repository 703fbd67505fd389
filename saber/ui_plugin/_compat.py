"""Every Airflow and Optuna internal the Studies page uses, checked against the versions it was
tested with: Airflow's plugin base class and authentication dependency, and Optuna's table
definitions (the page queries them directly: loading 10,000 FrozenTrials to show 100 is slow)."""

from __future__ import annotations

from typing import Any

from saber.errors import SaberError

__all__ = ["AirflowPlugin", "check_versions", "optuna_tables", "user_dependency"]

_ALLOW = "SABER_ALLOW_UNTESTED"  # =1: serve the page on other versions anyway

# The plugin base class is public, documented API; it is imported when Airflow loads the
# entry point, so it cannot wait for check_versions.
from airflow.plugins_manager import AirflowPlugin  # noqa: E402


def check_versions() -> None:
    """Refuse Airflow or Optuna versions whose internals the page was not checked against."""
    # Imported here: their packages' __init__ modules load the backend and the optimizer, which
    # every Airflow process that loads plugins (scheduler, workers) would pay for.
    from saber.backends.embedded._versions import TESTED as AIRFLOW_TESTED
    from saber.backends.embedded._versions import untested
    from saber.scores._compat import TESTED as OPTUNA_TESTED

    wanted = {"apache-airflow-core": (AIRFLOW_TESTED["apache-airflow-core"],), "optuna": OPTUNA_TESTED}
    for package, series in wanted.items():
        if (found := untested(package, series)) is not None:
            raise SaberError(
                f"saber's Studies page was checked against {package} {' or '.join(s + 'x' for s in series)}, "
                f"but {found} is installed: install a tested version, or set {_ALLOW}=1 to try anyway")


def user_dependency() -> Any:
    """Airflow's ``GetUserDep``: the signed-in user from a Bearer token or the UI's ``_token``
    cookie, 401 without either. Plugin apps are mounted outside Airflow's own auth, so every
    route must ask for it."""
    from airflow.api_fastapi.core_api.security import get_user

    return get_user


def optuna_tables() -> dict[str, Any]:
    """Optuna's table definitions (saber.scores._compat's, imported here only when used:
    every Airflow process loads the plugin, and the scores package is not light)."""
    from saber.scores._compat import optuna_tables as tables

    return tables()
