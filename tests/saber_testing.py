"""Shared by the tests: the session's throw-away $SABER_HOME, set before anything imports airflow."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"

if "SABER_TEST_HOME" not in os.environ:
    os.environ["SABER_TEST_HOME"] = tempfile.mkdtemp(prefix="saber-test-home-")
os.environ["SABER_HOME"] = os.environ["SABER_TEST_HOME"]
os.environ.pop("SABER_STORAGE", None)
# The suite starts `saber` hundreds of times, most in homes of their own: a warm server kept by
# each would hold a few hundred MB for minutes. The warm path has its own tests (tests/cli/
# test_warm.py) and the conformance gate runs through it.
os.environ.setdefault("SABER_WARM", "0")

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


def tiny_registry(root: Path, group: str, word: str = "said") -> str:
    """A tool registry under ``root`` with one tool, GROUP/say, whose image (saber/GROUP:0.1.0,
    returned, not built) needs nothing but python3: it builds offline on BASE_IMAGE. The script
    prints '<word> <input>'; its expectations ask for 'said hello'."""
    import textwrap

    tools, image = root / "cwl_tools" / group, root / "dockerfiles" / group
    tools.mkdir(parents=True)
    image.mkdir(parents=True)
    (tools / "say.cwl").write_text(textwrap.dedent(f"""\
        cwlVersion: v1.2
        class: CommandLineTool
        doc: Prints a word and writes it to said.txt (a test's tool).
        requirements:
          DockerRequirement: {{dockerPull: "saber/{group}:0.1.0"}}
        baseCommand: [python3, /opt/{group}/say.py]
        inputs:
          word: {{type: string, doc: What to say., inputBinding: {{position: 1}}}}
        outputs:
          said: {{type: File, doc: What was said., outputBinding: {{glob: said.txt}}}}
        """))
    (tools / "say.job.yml").write_text("word: hello\n")
    (tools / "say.expect.yml").write_text("outputs:\n  said: {class: File, basename: said.txt}\n"
                                          "stdout_contains: ['said hello']\n")
    (image / "Dockerfile").write_text(f"ARG BASE_IMAGE=python:3.12-slim\nFROM ${{BASE_IMAGE}}\n"
                                      f"COPY say.py /opt/{group}/say.py\n")
    (image / "VERSION").write_text("0.1.0\n")
    say_script(root, group, word)
    return f"saber/{group}:0.1.0"


def say_script(root: Path, group: str, word: str) -> None:
    """(Re)write GROUP/say's script to print '<word> <input>'."""
    (root / "dockerfiles" / group / "say.py").write_text(
        "import pathlib, sys\n"
        f"text = '{word} ' + sys.argv[1]\n"
        "pathlib.Path('said.txt').write_text(text)\n"
        "print(text)\n")


def local_base_env() -> dict[str, str]:
    """BASE_IMAGE for image builds that must not reach a registry: the local Debian stand-in."""
    return {"BASE_IMAGE": os.environ.get("BASE_IMAGE") or "saber/debian-python:bookworm"}


@contextlib.contextmanager
def saber_ui() -> Iterator[tuple[str, str]]:
    """`saber ui` on a free port over the session's home, up and answering: (base URL, admin
    password); its whole process group is stopped afterwards, whatever happened."""
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "saber", "ui", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=os.environ.copy(), start_new_session=True)
    try:
        first = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in first and "admin" in first, first
        password = first.rsplit("password: ", 1)[1].rstrip(")\n")
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=5).close()
                break
            except OSError:
                assert proc.poll() is None, "saber ui exited"
                assert time.monotonic() < deadline, "the UI did not come up in 120 s"
                time.sleep(1)
        yield base, password
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
