"""A saber home ($SABER_HOME, ~/.saber): where saber keeps its state on this machine.

Paths only: what lives where. How the embedded backend configures Airflow on a home is
``saber.backends.embedded``'s business, so this module imports no Airflow.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SaberHome", "storage_root"]


@dataclass(frozen=True)
class SaberHome:
    """Paths of one saber home."""

    root: Path

    @classmethod
    def from_env(cls) -> SaberHome:
        return cls(Path(os.environ.get("SABER_HOME", Path.home() / ".saber")).expanduser().resolve())

    @property
    def airflow_home(self) -> Path:
        """The embedded Airflow's home (its database, config, task logs)."""
        return self.root / "airflow"

    @property
    def dags(self) -> Path:
        return self.root / "dags"

    @property
    def storage(self) -> Path:
        """Run storage: step outputs ($SABER_STORAGE wins)."""
        return Path(os.environ.get("SABER_STORAGE", self.root / "storage"))

    @property
    def database(self) -> Path:
        return self.airflow_home / "airflow.db"

    @property
    def cache(self) -> Path:
        """Things made once and reused (e.g. a migrated Airflow database to copy)."""
        return self.root / "cache"

    @property
    def results_db(self) -> Path:
        """The default results store (SQLite) when $SABER_DB names none."""
        return self.root / "results.db"

    @property
    def secret_key(self) -> Path:
        """The key that names secret Variables (an HMAC key private to this home)."""
        return self.root / ".secret-key"


def storage_root() -> Path:
    """Where step outputs live: $SABER_STORAGE, else $SABER_HOME/storage (~/.saber/storage).

    Read where a task runs (a worker of any deployment), so from the environment, not a home.
    """
    if root := os.environ.get("SABER_STORAGE"):
        return Path(root)
    return Path(os.environ.get("SABER_HOME", Path.home() / ".saber")) / "storage"
