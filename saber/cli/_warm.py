"""Warm start: `saber run` and `saber-cwl-runner` hand their call to a warm server.

Most of a short call's wall is fixed cost paid before the first container: importing Airflow,
building the in-process Execution API, parsing cwltool's schema (docs/performance.md, "Where one
call's time goes"). A warm server (``_warm_server``) pays it once and forks one child per call;
the child runs the same ``main(argv)`` in the caller's directory and environment, on the caller's
own stdin/stdout/stderr, so runs stay ordinary Airflow DAG runs in the home's database.

This side is the caller's: it finds the server of this home and environment (starting it when
there is none), passes the call over, relays signals to the child and exits with its status.
Where no server can be used it returns None and the call runs in this process as before.

One server per saber home, mode, Python, saber code and the environment read at import (Airflow's
and saber's settings, locale, paths): a Unix socket in Linux's abstract namespace named by a hash
of those, so a different configuration never reaches a server that imported Airflow under
another, and the name is gone when the server exits.
The server accepts callers of its own user only (SO_PEERCRED). ``SABER_WARM=0`` turns it off;
``SABER_WARM_IDLE`` is the seconds a server waits for its next call before it exits (300).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["call", "read_message", "send_message", "CHILD_ENV"]

CHILD_ENV = "_SABER_WARM_CHILD"  # set in a server's child: never hand the call on again
IDLE_DEFAULT = 300.0
START_TIMEOUT = 120.0  # a first server on a loaded machine imports Airflow for tens of seconds
ADDRESS_IN_USE = 3  # the server's exit status when another server took the address first
# The variables a server's state depends on: Airflow's and saber's settings, Python's, the
# locale (stdio's encoding), the temp folder (cached by tempfile), the paths. Every other one is
# read by the child at call time, from the caller's environment, and does not key the server.
_KEYED_PREFIXES = ("AIRFLOW", "SABER_", "PYTHON", "LC_", "CWL", "DOCKER_", "XDG_")
_KEYED = {"HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP", "PATH", "VIRTUAL_ENV"}
_UNKEYED = {"SABER_PHASES", "SABER_WARM_IDLE"}  # read at call time
_RELAYED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def call(argv: list[str]) -> int | None:
    """Run ``argv`` in the warm server; its exit status, or None where this call runs here."""
    mode = _mode(argv)
    if mode is None:
        return None
    address, home = _address(mode)
    for _ in range(2):  # a server that was exiting as this call came: start another
        sock = _connect(address) or _start(mode, address, home)
        if sock is None:
            return None
        with sock:
            code = _relay(sock, argv)
        if code is not None:
            return code
    return None


def _mode(argv: list[str]) -> str | None:
    if os.environ.get(CHILD_ENV) or os.environ.get("SABER_WARM", "1").strip().lower() in ("0", "off", "no", "false"):
        return None
    if not argv or sys.platform != "linux":
        return None
    if argv[0] == "cwl-runner":
        return "cwl-runner"
    if argv[0] == "run" and not os.environ.get("SABER_AIRFLOW_URL") and \
            not any(a == "--airflow" or a.startswith("--airflow=") for a in argv):
        return "run"  # a deployment's run (--airflow) imports no Airflow here: nothing to keep warm
    return None


def _address(mode: str) -> tuple[bytes, Path]:
    """The server's abstract socket name and the home that owns it."""
    from saber.home import SaberHome

    home = SaberHome.from_env().root.resolve()
    env = sorted((k, v) for k, v in os.environ.items()
                 if (k in _KEYED or k.startswith(_KEYED_PREFIXES)) and k not in _UNKEYED)
    key = json.dumps([mode, str(home), sys.executable, _code_stamp(), env])
    return b"\0saber-warm-" + hashlib.sha256(key.encode()).hexdigest()[:40].encode(), home


def _code_stamp() -> list:
    """Changes when saber's code or the installed packages change: a server never runs stale code."""
    import saber

    stamp: list = []
    for folder, _, files in os.walk(Path(saber.__file__).parent):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                st = os.stat(path)
                stamp.append((path, st.st_mtime_ns, st.st_size))
    for path in sys.path:  # a venv's packages: their folder changes as packages come and go
        if path.endswith("site-packages") and os.path.isdir(path):
            stamp.append((path, os.stat(path).st_mtime_ns, 0))
    return sorted(stamp)


def _connect(address: bytes) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(address)
    except OSError:
        sock.close()
        return None
    return sock


def _start(mode: str, address: bytes, home: Path) -> socket.socket | None:
    """Start the server (in its own session, so a Ctrl-C here does not reach it) and connect
    once it listens; None if it could not start (its log says why)."""
    home.mkdir(parents=True, exist_ok=True)
    idle = os.environ.get("SABER_WARM_IDLE") or str(IDLE_DEFAULT)
    with open(home / "warm.log", "ab") as log:
        server = subprocess.Popen([sys.executable, "-m", "saber.cli._warm_server", mode, address[1:].decode(), idle],
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                                  close_fds=True)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        sock = _connect(address)
        if sock is not None:
            return sock
        status = server.poll()
        if status is not None and status != ADDRESS_IN_USE:
            return None  # it failed; another that took the address first (3) is still starting
        time.sleep(0.02)
    return None


def _relay(sock: socket.socket, argv: list[str]) -> int | None:
    """Pass the call and this process's stdio; relay signals to the child; its exit status, or
    None if the server closed before it forked one."""
    try:
        cwd = os.getcwd()
    except OSError:  # a deleted working folder: this process reports it as it would anyway
        return None
    request = json.dumps({"argv": argv, "cwd": cwd, "env": dict(os.environ)}).encode()
    socket.send_fds(sock, [struct.pack("!I", len(request)) + request], [0, 1, 2])
    child: dict[str, Any] = {"pid": None, "early": []}

    def relay(signum: int, _frame) -> None:
        if child["pid"] is None:
            child["early"].append(signum)  # before the child said who it is: sent once it does
            return
        try:
            os.kill(child["pid"], signum)
        except ProcessLookupError:
            pass

    def suspend(signum: int, _frame) -> None:
        """Ctrl-Z: stop the child's whole process group (its workers and tasks, as a terminal
        stops a `saber` process's), then this process; `fg` or `bg` continues both."""
        if child["pid"] is not None:
            os.killpg(child["pid"], signal.SIGSTOP)
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)  # stops here until SIGCONT
        signal.signal(signal.SIGTSTP, suspend)
        if child["pid"] is not None:
            os.killpg(child["pid"], signal.SIGCONT)

    previous = {s: signal.signal(s, relay) for s in _RELAYED}
    previous[signal.SIGTSTP] = signal.signal(signal.SIGTSTP, suspend)
    try:
        reader = sock.makefile("rb")
        while True:
            try:
                message = read_message(reader)
            except InterruptedError:
                continue
            except ConnectionResetError:  # closed with our request unread: the same as no word
                message = None
            if message is None:
                if child["pid"] is None:  # the server closed without forking: not this call's fault
                    return None
                print("saber: the warm server stopped during the call", file=sys.stderr)
                return 1
            if "pid" in message:
                child["pid"] = message["pid"]
                for signum in child["early"]:
                    relay(signum, None)
            elif "exit" in message:
                return int(message["exit"])
            elif "signal" in message:
                for s, handler in previous.items():
                    signal.signal(s, handler)
                return 128 + int(message["signal"])
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def send_message(sock: socket.socket, message: dict) -> None:
    sock.sendall(json.dumps(message).encode() + b"\n")


def read_message(reader) -> dict | None:
    line = reader.readline()
    return json.loads(line) if line else None
