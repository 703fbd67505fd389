"""A saber home ($SABER_HOME, ~/.saber): where saber keeps its state on this machine.

Paths only: what lives where. How the embedded backend configures Airflow on a home is
``saber.backends.embedded``'s business, so this module imports no Airflow.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SaberHome", "remote_storage", "storage_root"]


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
        """Local run storage: step outputs ($SABER_STORAGE wins unless it names S3, where the
        local folder is the scratch space that outputs pass through)."""
        return _local_storage(os.environ.get("SABER_STORAGE")) or self.root / "storage"

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
    if root := _local_storage(os.environ.get("SABER_STORAGE")):
        return root
    return Path(os.environ.get("SABER_HOME", Path.home() / ".saber")) / "storage"


def remote_storage() -> str | None:
    """$SABER_STORAGE when it names S3 (the default of `saber run --storage`), else None."""
    url = os.environ.get("SABER_STORAGE") or ""
    return url if url.startswith("s3://") else None


def _local_storage(value: str | None) -> Path | None:
    """A local folder named by $SABER_STORAGE (a path or a file:/// URL); None for S3 or unset."""
    if not value or value.startswith("s3://"):
        return None
    if value.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(value).path))
    return Path(value)
