"""The checks of `saber doctor`, each a few lines of ok/warn/FAIL. They only look: nothing is
created, migrated or pulled, and no Airflow is imported (its import alone takes seconds)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from saber.errors import SaberError
from saber.home import SaberHome

__all__ = ["Check", "run_checks"]

Status = Literal["ok", "warn", "FAIL"]

_MIB = 1024 * 1024
_DISK_WARN, _DISK_FAIL = 1024 * _MIB, 100 * _MIB
_RANGED = ("apache-airflow", "cwltool")  # checked against saber's install_requires


@dataclass(frozen=True)
class Check:
    status: Status
    what: str


def run_checks(home: SaberHome, registry_root: Path | None) -> Iterable[Check]:
    """Every check, in order; one that raises is a FAIL naming the error, never a traceback."""
    checks: list[tuple[str, Callable[[], list[Check]]]] = [
        ("Docker engine", _docker), ("tool images", lambda: _images(registry_root)),
        ("saber home", lambda: _home(home)), ("Airflow database", lambda: _airflow_db(home)),
        ("results store", lambda: _results_store(home)), ("run storage", lambda: _disk(home)),
        ("versions", _versions)]
    for name, check in checks:
        try:
            yield from check()
        except Exception as e:  # noqa: BLE001 - the doctor reports, it does not crash
            yield Check("FAIL", f"{name}: could not be checked: {type(e).__name__}: {e}")


def _docker() -> list[Check]:
    import docker

    where = os.environ.get("DOCKER_HOST") or "/var/run/docker.sock"
    try:
        found = docker.from_env(timeout=5).version()
    except Exception as e:  # noqa: BLE001 - DockerException, or requests' errors on a dead socket
        return [Check("FAIL", f"Docker engine at {where} does not answer ({type(e).__name__}): start dockerd")]
    return [Check("ok", f"Docker engine {found.get('Version', '?')} answers at {where}")]


def _images(root: Path | None) -> list[Check]:
    from saber.registry import find_root
    from saber.registry._images import image_dirs, image_state

    try:
        images_dir = find_root(root) / "dockerfiles"
    except SaberError:
        return [Check("warn", "no tool registry (cwl_tools/, dockerfiles/) here or above: images not "
                              "checked (run in a checkout, or give --root)")]
    checks = []
    for folder in image_dirs(images_dir):
        try:
            tag, state = image_state(folder)
        except SaberError as e:  # a folder without VERSION
            checks.append(Check("FAIL", str(e)))
            continue
        except FileNotFoundError:
            return [Check("FAIL", "no docker command on PATH: images not checked")]
        build = f"saber tools build {folder.name}"
        checks.append({
            "current": Check("ok", f"image {tag} is built from {folder}/ as it is"),
            "stale": Check("warn", f"image {tag} is stale: {folder}/ changed since it was built (or it was "
                                   f"built by hand): {build}"),
            "missing": Check("FAIL", f"image {tag} is missing: {build}"),
        }[state])
    return checks or [Check("warn", f"no images in {images_dir}")]


def _home(home: SaberHome) -> list[Check]:
    root = home.root
    if root.exists() and not root.is_dir():
        return [Check("FAIL", f"saber home {root} ($SABER_HOME) is not a folder")]
    if not root.exists():
        parent = _existing(root)
        if parent.is_dir() and os.access(parent, os.W_OK):
            return [Check("ok", f"saber home {root} does not exist yet (the first saber run makes it)")]
        return [Check("FAIL", f"saber home {root} ($SABER_HOME) cannot be made: {parent} is not a writable folder")]
    try:  # a real write: os.access says yes to root on a read-only file system
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as e:
        return [Check("FAIL", f"saber home {root} ($SABER_HOME) is not writable: {e.strerror or e}")]
    return [Check("ok", f"saber home {root} is writable")]


def _airflow_db(home: SaberHome) -> list[Check]:
    url = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN") or f"sqlite:///{home.database}"
    return _database("Airflow database", url, "select version_num from alembic_version",
                     lambda revision: f"answers (migration {revision})", "cannot be read")


def _results_store(home: SaberHome) -> list[Check]:
    # Not saber.scores.results_url: it makes the SQLite file's folder, and the doctor changes nothing.
    url = os.environ.get("SABER_DB") or f"sqlite:///{home.results_db}"
    return _database("results store", url, "select 1", lambda _: "answers", "does not answer")


def _database(label: str, url: str, query: str, answers, fails: str) -> list[Check]:
    """One check of the database at ``url``: ``query`` read only; ``answers(first value)`` says
    how it went."""
    import sqlalchemy as sa

    shown = sa.engine.make_url(url).render_as_string(hide_password=True)
    engine = _engine(url)
    if engine is None:
        return [Check("ok", f"{label} {shown} does not exist yet (the first saber run makes it)")]
    try:
        with engine.connect() as db:
            value = db.execute(sa.text(query)).scalar()
    except sa.exc.SQLAlchemyError as e:
        return [Check("FAIL", f"{label} {shown} {fails}: {_first_line(e)}")]
    finally:
        engine.dispose()
    return [Check("ok", f"{label} {shown} {answers(value)}")]


def _engine(url: str):
    """An engine that only reads: a SQLite file opened read-only (None when there is none yet,
    rather than making an empty one); another database with a short connect timeout."""
    import sqlite3

    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "").expanduser()
        if not parsed.database or not path.is_file():
            return None
        uri = path.resolve().as_uri() + "?mode=ro"
        return sa.create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, timeout=5))
    timeout = {"connect_timeout": 5} if parsed.get_backend_name() in ("postgresql", "mysql") else {}
    return sa.create_engine(url, connect_args=timeout)


def _disk(home: SaberHome) -> list[Check]:
    where = _existing(home.storage)
    free = shutil.disk_usage(where).free
    text = f"{free / 1024 ** 3:.1f} GiB free for run storage {home.storage}"
    if free < _DISK_FAIL:
        return [Check("FAIL", f"{text} (under 100 MiB: steps will fail to write their outputs)")]
    if free < _DISK_WARN:
        return [Check("warn", f"{text} (under 1 GiB)")]
    return [Check("ok", text)]


def _versions() -> list[Check]:
    from importlib.metadata import PackageNotFoundError, version

    from packaging.version import InvalidVersion, Version

    from saber.backends.embedded._versions import TESTED

    ranges, source = _install_requires()
    checks = []
    for package in dict.fromkeys([*_RANGED, *TESTED]):
        try:
            found = version(package)
        except PackageNotFoundError:
            checks.append(Check("FAIL", f"{package} is not installed (pip install -e .)"))
            continue
        wanted = []
        if package in ranges:
            try:
                ok = ranges[package].contains(Version(found), prereleases=True)
            except InvalidVersion:
                ok = False
            wanted.append(f"{ranges[package]} in {source}")
            if not ok:
                checks.append(Check("FAIL", f"{package} {found} is outside {ranges[package]} ({source})"))
                continue
        if package in TESTED:
            wanted.append(f"tested {TESTED[package]}x")
            if not found.startswith(TESTED[package]):
                status: Status = "warn" if os.environ.get("SABER_ALLOW_UNTESTED") == "1" else "FAIL"
                checks.append(Check(status, f"{package} {found}: the embedded backend was tested with "
                                            f"{TESTED[package]}x"))
                continue
        checks.append(Check("ok", f"{package} {found} ({'; '.join(wanted)})"))
    return checks


def _install_requires() -> tuple[dict, str]:
    """Package -> SpecifierSet of saber's install_requires: the checkout's setup.cfg when saber
    runs from one (the installed metadata may be older), else the installed distribution's."""
    import configparser
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import InvalidRequirement, Requirement

    cfg = Path(__file__).resolve().parents[2] / "setup.cfg"
    if cfg.is_file():
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(cfg)
        lines, source = parser.get("options", "install_requires", fallback="").splitlines(), "setup.cfg"
    else:
        try:
            lines, source = requires("saber") or [], "saber's requirements"
        except PackageNotFoundError:
            lines, source = [], "saber's requirements"
    ranges = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        try:
            req = Requirement(line) if line else None
        except InvalidRequirement:
            continue
        if req is not None and req.marker is None:
            ranges[req.name.lower()] = req.specifier
    return ranges, source


def _existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists."""
    path = path.expanduser().absolute()
    return next(p for p in (path, *path.parents) if p.exists())


def _first_line(error: Exception) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.splitlines()[0] if text else type(error).__name__
