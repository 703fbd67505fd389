"""The warm server (saber.cli._warm, _warm_server): `saber run` and `saber-cwl-runner` calls run
in a child of a server that imported Airflow once, with the caller's stdio, directory, signals
and exit status. The rest of the suite runs with SABER_WARM=0 (saber_testing); these tests turn
it on, each on a home of its own whose removal stops its server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from saber_testing import DATA, ROOT, needs_docker, sleepers

from saber.cli import _warm

ECHO = DATA / "cwl" / "echo.cwl"


@pytest.fixture
def warm_env(tmp_path):
    home = tmp_path / "home"
    # Not the session's home, whose Airflow settings this process's environment holds.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "_SABER", "SABER_STORAGE"))}
    env.update(SABER_HOME=str(home), SABER_WARM="1", SABER_WARM_IDLE="60")
    yield env
    shutil.rmtree(home, ignore_errors=True)  # its server sees the home gone and exits
    deadline = time.monotonic() + 10
    while _servers(home) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _servers(home), "the warm server outlived its home"


def _servers(home: Path) -> list[int]:
    """Pids of warm servers started for ``home``."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if b"saber.cli._warm_server" not in (proc / "cmdline").read_bytes():
                continue
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"SABER_HOME={home}".encode() in environ:
            found.append(int(proc.name))
    return found


def _saber(*args: str, env: dict, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "saber", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=600, **kw)


def _ready_lines(env: dict) -> list[str]:
    log = Path(env["SABER_HOME"]) / "warm.log"
    return [line for line in log.read_text().splitlines() if " ready " in line] if log.exists() else []


# -- which calls go to a server, and which server ---------------------------------------------------


@pytest.mark.parametrize("argv, env, mode", [
    (["run", "wf.cwl"], {}, "run"),
    (["cwl-runner", "t.cwl", "job.yml"], {}, "cwl-runner"),
    (["run", "wf.cwl", "--airflow", "http://x"], {}, None),  # a deployment's run imports no Airflow here
    (["run", "wf.cwl"], {"SABER_AIRFLOW_URL": "http://x"}, None),
    (["run", "wf.cwl"], {"SABER_WARM": "0"}, None),
    (["run", "wf.cwl"], {_warm.CHILD_ENV: "1"}, None),  # already the server's child
    (["status"], {}, None),
    ([], {}, None),
])
def test_which_calls_go_to_a_warm_server(monkeypatch, argv, env, mode):
    monkeypatch.delenv("SABER_AIRFLOW_URL", raising=False)
    monkeypatch.setenv("SABER_WARM", "1")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert _warm._mode(argv) == mode


def test_a_server_is_keyed_by_home_mode_and_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SABER_HOME", str(tmp_path / "a"))
    first, home = _warm._address("run")
    assert home == (tmp_path / "a").resolve()
    assert first.startswith(b"\0saber-warm-")
    monkeypatch.setenv("SABER_PHASES", str(tmp_path / "marks.jsonl"))  # read at call time: same server
    monkeypatch.setenv("PWD", "/elsewhere")
    monkeypatch.setenv("AWS_PROFILE", "lab")  # read by boto3 when a call makes its client
    assert _warm._address("run")[0] == first
    assert _warm._address("cwl-runner")[0] != first
    monkeypatch.setenv("AIRFLOW__CORE__PARALLELISM", "7")  # read by Airflow at import: another server
    assert _warm._address("run")[0] != first
    monkeypatch.delenv("AIRFLOW__CORE__PARALLELISM")
    monkeypatch.setenv("SABER_HOME", str(tmp_path / "b"))
    assert _warm._address("run")[0] != first


def test_no_server_can_start_and_the_call_runs_here(monkeypatch, tmp_path):
    """A server that fails to start (here: not importable) leaves the call to this process."""
    monkeypatch.setenv("SABER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SABER_WARM", "1")
    monkeypatch.setattr(_warm, "START_TIMEOUT", 30)
    monkeypatch.setattr(sys, "executable", "/bin/false")
    assert _warm.call(["run", "wf.cwl"]) is None


# -- real calls --------------------------------------------------------------------------------------


def _real(test):
    """Real calls: Docker, Airflow, a server's start (seconds)."""
    return needs_docker(pytest.mark.docker(pytest.mark.slow(test)))


def _job(tmp_path: Path, message: str = "up") -> Path:
    job = tmp_path / "job.yml"
    job.write_text(f"message: {message}\n")
    return job


@_real
def test_saber_run_calls_share_one_server_and_stay_real_dag_runs(warm_env, tmp_path):
    job = _job(tmp_path, "warm")
    for i in range(2):
        done = _saber("run", str(ECHO), "--job", str(job), "--no-cache", "--outdir", str(tmp_path / f"o{i}"),
                      env=warm_env)
        assert done.returncode == 0, done.stderr
        assert "outputs and summary.json" in done.stdout + done.stderr
        summary = json.loads((tmp_path / f"o{i}" / "summary.json").read_text())
        assert summary["points"][0]["outputs"]["text"] == "warm x 1", summary
    assert len(_ready_lines(warm_env)) == 1, "the second call started another server"
    assert len(_servers(Path(warm_env["SABER_HOME"]))) == 1
    # Both calls are DAG runs in the home's Airflow database, as without the server.
    db = sqlite3.connect(Path(warm_env["SABER_HOME"]) / "airflow" / "airflow.db")
    try:
        states = [row[0] for row in db.execute("SELECT state FROM dag_run ORDER BY id")]
    finally:
        db.close()
    assert states == ["success", "success"]
    # Bad input through the server: one sentence on the caller's stderr, exit status 2.
    bad = _saber("run", str(tmp_path / "missing.cwl"), env=warm_env)
    assert bad.returncode == 2, bad.stderr
    assert "missing.cwl" in bad.stderr and "Traceback" not in bad.stderr
    assert len(_ready_lines(warm_env)) == 1


@_real
def test_cwl_runner_calls_in_parallel_each_get_their_own_home(warm_env, tmp_path):
    job = _job(tmp_path, "parallel")
    runner = [str(Path(sys.executable).with_name("saber-cwl-runner"))]

    def call(i: int) -> subprocess.CompletedProcess:
        return subprocess.run([*runner, "--outdir", str(tmp_path / f"out{i}"), "--quiet", str(ECHO), str(job)],
                              capture_output=True, text=True, env=warm_env, timeout=600)

    first = call(0)  # starts the server
    assert first.returncode == 0, first.stderr
    with ThreadPoolExecutor(3) as pool:
        calls = list(pool.map(call, range(1, 4)))
    for i, done in enumerate([first, *calls]):
        assert done.returncode == 0, done.stderr
        outputs = json.loads(done.stdout)  # stdout carries the output object and nothing else
        assert outputs["text"] == "parallel x 1"
        assert Path(outputs["out"]["path"]) == tmp_path / f"out{i}" / "out.txt"
    assert len(_ready_lines(warm_env)) == 1
    assert not list(Path(warm_env["SABER_HOME"]).glob("cache/warm-placeholder/airflow/*.db")), \
        "a call used the server's placeholder home"


@_real
@pytest.mark.parametrize("how, code", [("ctrl-c", 130), ("sigterm", 143), ("sigkill", None)])
def test_a_stop_of_the_caller_stops_the_call(warm_env, tmp_path, how, code):
    """Ctrl-C (the caller's process group) and SIGTERM are relayed to the child, which stops as
    `saber run` does; a caller killed outright closes its socket, and the child stops too."""
    _saber("run", str(DATA / "cwl" / "echo.cwl"), "--job", str(_job(tmp_path)), "--outdir",
           str(tmp_path / "warmup"), env=warm_env)  # the server is up: the stop below reaches a child
    assert sleepers() == 0
    proc = subprocess.Popen([sys.executable, "-m", "saber", "run", str(DATA / "cwl" / "sleep.cwl"), "--outdir",
                             str(tmp_path / "o"), "--study", f"warm-{how}"], cwd=ROOT, env=warm_env,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while sleepers() == 0:
        assert proc.poll() is None and time.monotonic() < deadline, "the container never started"
        time.sleep(0.3)
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        os.kill(proc.pid, signal.SIGTERM if how == "sigterm" else signal.SIGKILL)
    output, _ = proc.communicate(timeout=60)
    if code is not None:
        assert proc.returncode == code, output
        assert "Traceback" not in output
    deadline = time.monotonic() + 60
    while sleepers() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert sleepers() == 0, "the call's container outlived its caller"
    db = sqlite3.connect(Path(warm_env["SABER_HOME"]) / "airflow" / "airflow.db")
    try:
        deadline = time.monotonic() + 30
        while True:
            (state,) = db.execute("SELECT state FROM dag_run WHERE run_id LIKE ?", (f"warm-{how}%",)).fetchone()
            if state != "running" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        db.close()
    assert state == "failed"


@_real
def test_an_idle_server_exits(warm_env, tmp_path):
    warm_env["SABER_WARM_IDLE"] = "2"
    done = _saber("run", str(ECHO), "--job", str(_job(tmp_path)), "--outdir", str(tmp_path / "o"), env=warm_env)
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 30
    while _servers(Path(warm_env["SABER_HOME"])) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert not _servers(Path(warm_env["SABER_HOME"]))
    assert "exits (idle 2 s" in (Path(warm_env["SABER_HOME"]) / "warm.log").read_text()


@_real
def test_ctrl_z_stops_the_call_and_fg_continues_it(warm_env, tmp_path):
    """SIGTSTP to the caller stops the child's whole process group (workers, task processes) and
    the caller; SIGCONT continues both; the call then ends as usual (here by Ctrl-C)."""
    _saber("run", str(ECHO), "--job", str(_job(tmp_path)), "--outdir", str(tmp_path / "warmup"), env=warm_env)
    assert sleepers() == 0
    proc = subprocess.Popen([sys.executable, "-m", "saber", "run", str(DATA / "cwl" / "sleep.cwl"), "--outdir",
                             str(tmp_path / "o"), "--study", "warm-ctrl-z"], cwd=ROOT, env=warm_env,
                            # a job of its own in this session, as a shell starts one: a group with a
                            # parent outside it is not orphaned, so a stop signal is not discarded
                            process_group=0, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while sleepers() == 0:
        assert proc.poll() is None and time.monotonic() < deadline, "the container never started"
        time.sleep(0.3)
    # The server and its child (which has the server's command line) are both "servers" here.
    pids = _servers(Path(warm_env["SABER_HOME"]))
    (server,) = [pid for pid in pids if _parent(Path(f"/proc/{pid}")) not in pids]
    (child,) = [pid for pid in pids if _parent(Path(f"/proc/{pid}")) == server]
    group = [int(p.name) for p in Path("/proc").glob("[0-9]*") if _group(p) == child]
    assert len(group) >= 2, "the child's workers are not in its process group"
    os.kill(proc.pid, signal.SIGTSTP)
    deadline = time.monotonic() + 10
    while {_state(pid) for pid in [proc.pid, *group]} - {"T", None} and time.monotonic() < deadline:
        time.sleep(0.1)
    assert {_state(pid) for pid in [proc.pid, *group]} <= {"T", None}, "not everything stopped"
    os.kill(proc.pid, signal.SIGCONT)
    deadline = time.monotonic() + 10
    while "T" in {_state(pid) for pid in [proc.pid, *group]} and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "T" not in {_state(pid) for pid in [proc.pid, *group]}, "not everything continued"
    os.kill(proc.pid, signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    deadline = time.monotonic() + 60
    while sleepers() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert sleepers() == 0


def _stat(proc: Path) -> list[str] | None:
    try:
        return (proc / "stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def _parent(proc: Path) -> int | None:
    fields = _stat(proc)
    return int(fields[1]) if fields else None


def _group(proc: Path) -> int | None:
    fields = _stat(proc)
    return int(fields[2]) if fields else None


def _state(pid: int) -> str | None:
    fields = _stat(Path(f"/proc/{pid}"))
    return fields[0] if fields else None
