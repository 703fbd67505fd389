"""Shared by the tests: the session's throw-away $SABER_HOME, set before anything imports airflow."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"

if "SABER_TEST_HOME" not in os.environ:
    os.environ["SABER_TEST_HOME"] = tempfile.mkdtemp(prefix="saber-test-home-")
os.environ["SABER_HOME"] = os.environ["SABER_TEST_HOME"]
os.environ.pop("SABER_STORAGE", None)

from saber.backends.embedded import activate  # noqa: E402  (no airflow import here)
from saber.home import SaberHome  # noqa: E402

HOME = SaberHome.from_env()
activate(HOME)


def load_script(image: str, name: str):
    """dockerfiles/<image>/<name>.py as module <image>_<name>: generic script names (label,
    threshold) of different images never clash."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"{image}_{name}", ROOT / "dockerfiles" / image / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def tool_images() -> list[str]:
    """Every image the registry builds: saber/<name>:<VERSION> for each dockerfiles/<name>/."""
    return sorted(f"saber/{d.name}:{(d / 'VERSION').read_text().strip()}"
                  for d in (ROOT / "dockerfiles").iterdir() if (d / "VERSION").is_file())


def docker_ready() -> bool:
    if not shutil.which("docker"):
        return False
    probe = subprocess.run(["docker", "image", "inspect", *tool_images()], capture_output=True)
    return probe.returncode == 0


# In CI (`CI` set) nothing is skipped: a missing engine or image fails the tests that need it.
needs_docker = pytest.mark.skipif(not os.environ.get("CI") and not docker_ready(),
                                  reason="needs Docker and the tool images (bash scripts/setup.sh)")


def run_saber(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """The real command line, in a subprocess, on the session's home."""
    return subprocess.run([sys.executable, "-m", "saber", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})}, timeout=timeout)


def yaml_writer(folder: Path, name: str):
    """A function writing dedented YAML text to ``folder/name`` and returning the path."""
    import textwrap

    def write(text: str) -> Path:
        path = folder / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


def files_holding(root: Path, needle: str) -> list[str]:
    """Files under ``root`` whose bytes contain ``needle`` (e.g. a secret that must be nowhere).

    grep reads them in a child process: a file this process opens and closes releases every
    POSIX lock the process holds on it, and SQLite's locks on Airflow's database (held by this
    process's pooled connections) would go with them."""
    found = subprocess.run(["grep", "-rlF", "--", needle, str(root)], capture_output=True, text=True)
    assert found.returncode in (0, 1), found.stderr
    return found.stdout.splitlines()


def sleepers() -> int:
    """Containers of tests/data/cwl/sleep.cwl running now."""
    ps = subprocess.run(["docker", "ps", "--format", "{{.Command}}"], capture_output=True, text=True)
    return ps.stdout.count("sleep 300")


def saber_sleeping(*args: str, env: dict | None = None, timeout: float = 180) -> subprocess.Popen:
    """`saber run tests/data/cwl/sleep.cwl ARGS` started as a terminal's foreground job would be,
    returned once its container runs (to be stopped by a test)."""
    import signal
    import time

    assert sleepers() == 0
    proc = subprocess.Popen([sys.executable, "-m", "saber", "run", str(DATA / "cwl" / "sleep.cwl"), *args],
                            cwd=ROOT, env={**os.environ, **(env or {})}, start_new_session=True,
                            # a test run started in the background by a script (`cmd &`) inherits
                            # SIGINT ignored; a terminal's foreground job has the default
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout
    while sleepers() == 0:
        assert proc.poll() is None and time.monotonic() < deadline, "the container never started"
        time.sleep(0.5)
    return proc
