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


def untested(package: str, series: tuple[str, ...]) -> str | None:
    """The installed version of ``package`` (``none`` if absent) when it starts with none of
    ``series`` and $SABER_ALLOW_UNTESTED is not 1; None when it may be used."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version(package)
    except PackageNotFoundError:
        found = "none"
    return None if found.startswith(series) or os.environ.get(_ALLOW) == "1" else found


def check_versions() -> None:
    """Refuse Airflow, cadwyn or cwltool versions the embedded backend was not checked against."""
    for package, series in TESTED.items():
        if (found := untested(package, (series,))) is not None:
            raise SaberError(
                f"saber's embedded backend was checked against {package} {series}x, but {found} is "
                f"installed: install {package}=={series}* (pip install -e . does), or set {_ALLOW}=1 "
                "to try anyway")
