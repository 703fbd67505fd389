"""The warm server of one saber home (``_warm`` is the caller's side).

    python -m saber.cli._warm_server MODE ADDRESS IDLE_SECONDS

It pays a call's fixed cost once: the home activated, Airflow imported, the in-process Execution
API built, cwltool's schema parsed, saber's modules loaded. Then, for each caller, it forks a
child that takes the caller's directory, environment and stdio and runs ``saber.cli.main`` as
the caller's own process would; the child tells the caller its pid (signals go straight to it)
and its exit status. The server itself runs no call, holds no database connection, and exits
when no call came for IDLE seconds, or when its home is gone.

``cwl-runner`` mode: every call has a throw-away home of its own, so the server imports Airflow
under a placeholder home (under the base home's cache) and each child points Airflow at its
call's home (``activate`` re-points, ``_compat.repoint``).
"""

from __future__ import annotations

import errno
import gc
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
from pathlib import Path

from saber.cli._warm import ADDRESS_IN_USE, CHILD_ENV, send_message

__all__ = ["serve"]


def serve(mode: str, address: bytes, idle: float) -> int:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(address)  # the address is the lock: a second server for it exits here
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            return ADDRESS_IN_USE
        raise
    home, config = _warm(mode)
    stamp = _stamp(config)
    # Callers connect once the server listens; until then they wait (connection refused).
    sock.listen(64)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # A child's end wakes the loop at once: the caller waits for its exit status.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    _log(f"warm: {mode} server for {home} ready (pid {os.getpid()}, idle timeout {idle:g} s)")
    children: dict[int, socket.socket] = {}
    last = time.monotonic()
    while True:
        _reap(children)
        if children:
            last = time.monotonic()
        elif time.monotonic() - last > idle or not home.is_dir():
            _log(f"warm: {mode} server for {home} exits (idle {idle:g} s, or its home is gone)")
            return 0
        ready = select.select([sock, wake_r], [], [], 0.5)[0]
        if wake_r in ready:
            os.read(wake_r, 512)
        if sock in ready:
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            if stamp is None:  # Airflow imported without one; `airflow db migrate` writes its defaults
                stamp = _stamp(config)
            elif _stamp(config) != stamp:  # edited: the caller, seeing no child, starts a new server
                _log(f"warm: {config} changed: exiting, the next call starts a new server")
                conn.close()
                return 0
            last = time.monotonic()
            pid = _fork_call(sock, conn, (wake_r, wake_w))
            if pid is not None:
                children[pid] = conn
            else:
                conn.close()


def _warm(mode: str) -> tuple[Path, Path]:
    """Everything a call pays before its own work, once. Returns the home that owns the server
    and the airflow.cfg Airflow read at import."""
    from saber.backends.embedded._home import activate
    from saber.home import SaberHome

    base = SaberHome.from_env()
    home = base if mode == "run" else SaberHome(base.cache / "warm-placeholder")
    # cwl-runner: each call re-points at its own throw-away home
    activate(home, own=mode != "run")
    from saber.backends.embedded import _compat

    _compat.warm_execution_api()
    _compat.warm_imports()
    import saber.airflow  # noqa: F401
    import saber.backends.embedded._backend  # noqa: F401
    import saber.backends.embedded._reaper  # noqa: F401
    import saber.backends.embedded._records  # noqa: F401
    import saber.backends.embedded._runner  # noqa: F401
    import saber.backends.embedded._workers  # noqa: F401
    from saber.cli import arg_parser
    from saber.cwl import warm_schema
    from saber.runs import warm_up

    arg_parser()  # imports every subcommand's module
    warm_schema()
    warm_up()
    if threading.active_count() > 1:  # a thread does not cross a fork: its locks could be held
        _log(f"warm: threads alive after warming: {[t.name for t in threading.enumerate()]}")
    # What is loaded now is shared with every child; frozen, no child's collection walks it.
    gc.collect()
    gc.freeze()
    return base.root, home.airflow_home / "airflow.cfg"


def _stamp(path: Path) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _fork_call(server: socket.socket, conn: socket.socket, wake: tuple[int, int]) -> int | None:
    """Read one call from ``conn`` and fork its child; the child's pid, or None. The child
    leaves by SystemExit, through the interpreter's own exit (threads joined, pools shut down,
    atexit handlers), as the caller's process would have; the server reports its status."""
    peer_pid, peer_uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                                 struct.calcsize("3i")))
    if peer_uid != os.getuid():
        _log(f"warm: refused a call from uid {peer_uid} (pid {peer_pid})")
        return None
    conn.settimeout(10)
    try:
        request, fds = _read_request(conn)
    except (OSError, ValueError) as e:
        _log(f"warm: unreadable call from pid {peer_pid}: {e}")
        return None
    conn.settimeout(None)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        server.close()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in wake:
            os.close(fd)
        raise SystemExit(_child(conn, request, fds))
    for fd in fds:
        os.close(fd)
    return pid


def _read_request(conn: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    if len(fds) != 3 or len(data) < 4:
        for fd in fds:
            os.close(fd)
        raise ValueError("expected a request and three descriptors")
    (size,) = struct.unpack("!I", data[:4])
    body = data[4:]
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise ValueError("the request ended early")
        body += chunk
    return json.loads(body), fds


def _reap(children: dict[int, socket.socket]) -> None:
    """Children that ended: one killed by a signal cannot say so itself; the server does."""
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is None:
            continue
        try:  # now: whatever the child wrote is written
            if os.WIFSIGNALED(status):
                send_message(conn, {"signal": os.WTERMSIG(status)})
            else:
                send_message(conn, {"exit": os.WEXITSTATUS(status)})
        except OSError:
            pass
        conn.close()


def _child(conn: socket.socket, request: dict, fds: list[int]) -> int:
    """Become the caller's `saber` process for one call; its exit status."""
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    if os.isatty(1):  # Python chose stdout's buffering at the server's start, for its log file
        sys.stdout.reconfigure(line_buffering=True)
    os.setpgid(0, 0)  # its workers and task processes join its group: the caller's Ctrl-Z stops them all
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.environ[CHILD_ENV] = "1"
    argv = list(request["argv"])
    sys.argv = ["saber", *argv]
    send_message(conn, {"pid": os.getpid()})
    done = threading.Event()
    _stop_when_caller_goes(conn, done)
    from saber.cli import main

    try:
        return main(argv, exiting=True)
    finally:
        done.set()


def _stop_when_caller_goes(conn: socket.socket, done: threading.Event) -> None:
    """The caller killed (even by SIGKILL) closes its end: stop the call as a SIGTERM would
    (runs marked failed, containers stopped), rather than run on for nobody."""

    def watch() -> None:
        try:
            while conn.recv(1):
                pass
        except OSError:
            pass
        if not done.is_set():  # after the call, the caller leaving is the normal end
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="saber-warm-caller", daemon=True).start()


def _log(line: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1], b"\0" + sys.argv[2].encode(), float(sys.argv[3])))
