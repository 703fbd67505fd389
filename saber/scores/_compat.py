"""The Optuna internal the results store and the Studies page touch: the RDB storage's table
definitions, queried directly (Optuna's API loads every trial of a study to answer about one)."""

from __future__ import annotations

from functools import cache
from importlib.metadata import version
from typing import Any

from saber.errors import SaberError

__all__ = ["TESTED", "optuna_tables"]

TESTED = ("4.", "5.")  # Optuna series saber was checked against


@cache  # asked for by every query helper (saber.scores._sql); the version check is a file read
def optuna_tables() -> dict[str, Any]:
    """Optuna's SQLAlchemy tables by name (studies, trials, trial_values, ...)."""
    found = version("optuna")
    if not found.startswith(TESTED):
        raise SaberError(f"optuna {found} is not a version saber was tested with (4.x, 5.x): "
                         "pip install 'optuna>=4,<6'")
    from optuna.storages._rdb import models  # noqa: PLC2701 (no public schema)

    return dict(models.BaseModel.metadata.tables)
