"""Names shared by the run's producer (saber run) and its consumer (the step operator)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CONF_KEY", "SCATTER_SUFFIX", "storage_root"]

CONF_KEY = "__saber"  # saber's own part of a DAG run's conf: sweep id, point, step overrides
SCATTER_SUFFIX = "__scatter"  # task id suffix of a scattered step's helper (its jobs and shape)


def storage_root() -> Path:
    """Where step outputs live: $SABER_STORAGE, else $SABER_HOME/storage (~/.saber/storage)."""
    if root := os.environ.get("SABER_STORAGE"):
        return Path(root)
    return Path(os.environ.get("SABER_HOME", Path.home() / ".saber")) / "storage"
