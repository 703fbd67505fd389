"""The embedded Airflow of a saber home: its settings, its Fernet key, its database."""

from __future__ import annotations

import base64
import configparser
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from saber._private import private_file
from saber.errors import SaberError
from saber.home import SaberHome

__all__ = ["activate", "airflow_env", "ensure_database", "fernet_key"]


def airflow_env(home: SaberHome) -> dict[str, str]:
    """Airflow settings for this home (a user's own AIRFLOW__* variables still win)."""
    cores = str(os.cpu_count() or 2)
    return {
        "AIRFLOW_HOME": str(home.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home.dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": cores,
        "AIRFLOW__CORE__MAX_MAP_LENGTH": "100000",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home.database}",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home.airflow_home / "logs"),
        # Quiet on the user's terminal; the workers raise task logs back to INFO.
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__CORE__FERNET_KEY": fernet_key(home),
        "SABER_HOME": str(home.root),
        "SABER_STORAGE": str(home.storage),
    }


def fernet_key(home: SaberHome) -> str:
    """The key Airflow encrypts Variables and Connections with (saber's secret inputs among
    them), one per home, so every process of the home agrees: Airflow's own default makes
    one per airflow.cfg it writes, or none. A key already in the home's airflow.cfg is kept."""

    def make() -> str:
        cfg = configparser.ConfigParser(interpolation=None)
        cfg.read(home.airflow_home / "airflow.cfg")
        return cfg.get("core", "fernet_key", fallback="").strip() or \
            base64.urlsafe_b64encode(os.urandom(32)).decode()

    return private_file(home.airflow_home / "fernet.key", make)


def activate(home: SaberHome, *, own: bool = False) -> None:
    """Point this process (and the processes it starts) at this home's Airflow; must run before
    anything imports airflow. With ``own``, this home's settings replace any the environment
    already has (a throw-away home must not share a database or run storage with the home of
    whoever started it)."""
    for key, value in airflow_env(home).items():
        if (not own and key.startswith("AIRFLOW__") and key in os.environ
                and key != "AIRFLOW__CORE__DAGS_FOLDER"):
            continue
        os.environ[key] = value
    repoint = "airflow" in sys.modules and os.environ.get("_SABER_ACTIVE") != str(home.root)
    if repoint and not os.environ.get("_SABER_WARM_CHILD"):
        # airflow reads its configuration once, at import.
        raise SaberError("internal: saber home activated after airflow was imported")
    os.environ["_SABER_ACTIVE"] = str(home.root)
    for path in (home.airflow_home, home.dags, home.storage):
        path.mkdir(parents=True, exist_ok=True)
    if repoint:  # a warm server's child (saber.cli._warm_server): Airflow was imported for another home
        from saber.backends.embedded import _compat

        _compat.repoint()


def ensure_database(home: SaberHome, *, template_dir: Path | None = None) -> None:
    """Create or upgrade Airflow's SQLite database once per Airflow version.

    With ``template_dir``, a database migrated once and kept there is copied instead: a
    copy takes milliseconds, `airflow db migrate` about ten seconds (what makes throw-away
    homes, one per `saber cwl-runner` call, affordable).
    """
    from importlib.metadata import version

    import fcntl

    marker = home.airflow_home / ".saber-db.json"
    want = {"airflow": version("apache-airflow-core")}
    if _current(home, marker, want):
        return
    # Two first runs at once on a fresh home would both migrate ("table connection already
    # exists"): the second waits for the first, then finds the database made.
    with open(home.airflow_home / ".migrate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _current(home, marker, want):
            return
        if template_dir is None:
            _migrate(os.environ.copy(), home.database)
        else:
            shutil.copyfile(_template(template_dir, want["airflow"]), home.database)
        tmp = marker.with_name(f".{marker.name}.{os.getpid()}")
        tmp.write_text(json.dumps(want))
        os.replace(tmp, marker)


def _current(home: SaberHome, marker: Path, want: dict) -> bool:
    try:
        return home.database.exists() and json.loads(marker.read_text()) == want
    except (OSError, ValueError):
        return False


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
                _migrate({**os.environ, **airflow_env(scratch)}, scratch.database)
                os.replace(scratch.database, template)
            finally:
                shutil.rmtree(scratch.root, ignore_errors=True)
    return template
