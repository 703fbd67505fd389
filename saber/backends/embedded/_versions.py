"""The Airflow, cadwyn and cwltool release series the embedded backend was checked against
(its _compat module uses their internals): here, apart from _compat, so that `saber doctor`
can read them without importing Airflow."""

from __future__ import annotations

import os

from saber.errors import SaberError

__all__ = ["TESTED", "check_versions"]

# package -> the release series checked (a version must start with it)
TESTED = {"apache-airflow-core": "3.3.", "apache-airflow-task-sdk": "1.3.", "cadwyn": "7.", "cwltool": "3.3."}
_ALLOW = "SABER_ALLOW_UNTESTED"  # =1: run on other versions anyway, at one's own risk


def check_versions() -> None:
    """Refuse Airflow, cadwyn or cwltool versions the embedded backend was not checked against."""
    from importlib.metadata import PackageNotFoundError, version

    for package, series in TESTED.items():
        try:
            found = version(package)
        except PackageNotFoundError:
            found = "none"
        if not found.startswith(series) and os.environ.get(_ALLOW) != "1":
            raise SaberError(
                f"saber's embedded backend was checked against {package} {series}x, but {found} is "
                f"installed: install {package}=={series}* (pip install -e . does), or set {_ALLOW}=1 "
                "to try anyway")
