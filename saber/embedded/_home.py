"""The embedded default: all state under $SABER_HOME, an Airflow home configured for saber."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from saber.errors import SaberError

__all__ = ["SaberHome"]


@dataclass(frozen=True)
class SaberHome:
    """Paths of one saber home; ``activate()`` must run before anything imports airflow."""

    root: Path

    @classmethod
    def from_env(cls) -> "SaberHome":
        return cls(Path(os.environ.get("SABER_HOME", Path.home() / ".saber")).expanduser().resolve())

    @property
    def airflow_home(self) -> Path:
        return self.root / "airflow"

    @property
    def dags(self) -> Path:
        return self.root / "dags"

    @property
    def storage(self) -> Path:
        return Path(os.environ.get("SABER_STORAGE", self.root / "storage"))

    @property
    def database(self) -> Path:
        return self.airflow_home / "airflow.db"

    def airflow_env(self) -> dict[str, str]:
        """Airflow settings for this home (a user's own AIRFLOW__* variables still win)."""
        cores = str(os.cpu_count() or 2)
        return {
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": cores,
            "AIRFLOW__CORE__MAX_MAP_LENGTH": "100000",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.database}",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.airflow_home / "logs"),
            # Quiet on the user's terminal; the workers raise task logs back to INFO.
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "AIRFLOW__CORE__FERNET_KEY": self.fernet_key(),
            "SABER_HOME": str(self.root),
            "SABER_STORAGE": str(self.storage),
        }

    def fernet_key(self) -> str:
        """The key Airflow encrypts Variables and Connections with (saber's secret inputs among
        them), one per home, so every process of the home agrees: Airflow's own default makes
        one per airflow.cfg it writes, or none. A key already in the home's airflow.cfg is kept."""
        import base64
        import configparser

        from saber._private import private_file

        def make() -> str:
            cfg = configparser.ConfigParser(interpolation=None)
            cfg.read(self.airflow_home / "airflow.cfg")
            return cfg.get("core", "fernet_key", fallback="").strip() or \
                base64.urlsafe_b64encode(os.urandom(32)).decode()

        return private_file(self.airflow_home / "fernet.key", make)

    def activate(self, *, own: bool = False) -> None:
        """Point this process (and the processes it starts) at this home. With ``own``, this
        home's settings replace any the environment already has (a throw-away home must not
        share a database or run storage with the home of whoever started it)."""
        for key, value in self.airflow_env().items():
            if (not own and key.startswith("AIRFLOW__") and key in os.environ
                    and key != "AIRFLOW__CORE__DAGS_FOLDER"):
                continue
            os.environ[key] = value
        if "airflow" in sys.modules and os.environ.get("_SABER_ACTIVE") != str(self.root):
            # airflow reads its configuration once, at import.
            raise SaberError("internal: saber home activated after airflow was imported")
        os.environ["_SABER_ACTIVE"] = str(self.root)
        for path in (self.airflow_home, self.dags, self.storage):
            path.mkdir(parents=True, exist_ok=True)

    def ensure_database(self, *, template_dir: Path | None = None) -> None:
        """Create or upgrade Airflow's SQLite database once per Airflow version.

        With ``template_dir``, a database migrated once and kept there is copied instead: a
        copy takes milliseconds, `airflow db migrate` about ten seconds (what makes throw-away
        homes, one per `saber cwl-runner` call, affordable).
        """
        from importlib.metadata import version

        marker = self.airflow_home / ".saber-db.json"
        want = {"airflow": version("apache-airflow-core")}
        if self.database.exists() and marker.exists() and json.loads(marker.read_text()) == want:
            return
        if template_dir is None:
            _migrate(os.environ.copy(), self.database)
        else:
            shutil.copyfile(_template(template_dir, want["airflow"]), self.database)
        marker.write_text(json.dumps(want))


def _migrate(env: dict[str, str], database: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"],
                            capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SaberError(f"could not create Airflow's database at {database}:\n" + result.stderr[-2000:])


def _template(folder: Path, airflow_version: str) -> Path:
    """An empty, migrated Airflow database for this version, made once under a file lock."""
    import fcntl
    import tempfile

    template = folder / f"airflow-{airflow_version}.db"
    if template.exists():
        return template
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel callers wait for the first one's migration
        if not template.exists():
            scratch = SaberHome(Path(tempfile.mkdtemp(prefix="migrate-", dir=folder)))
            try:
                scratch.airflow_home.mkdir(parents=True)
                _migrate({**os.environ, **scratch.airflow_env()}, scratch.database)
                os.replace(scratch.database, template)
            finally:
                shutil.rmtree(scratch.root, ignore_errors=True)
    return template
