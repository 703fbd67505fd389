"""saber ui: Airflow's web UI (api-server) on the same state as `saber run`."""

from __future__ import annotations

import argparse
import functools
import json
import os
import secrets
import signal
import subprocess
import sys
import time

from saber._lifetime import die_with_parent

HELP = """Start the Airflow web UI on 127.0.0.1 over $SABER_HOME: one DAG per workflow, one DAG
run per sweep point, each step a task with its log. A scheduler and DAG processor start with it
so that runs launched from the UI's Trigger form execute (unpause the DAG first: `saber run`
keeps the DAGs it drives paused). Stop everything with Ctrl-C."""

EXAMPLES = """example:
  saber ui --port 8080      # then open http://127.0.0.1:8080 and log in as admin"""


def add_parser(sub) -> None:
    p = sub.add_parser("ui", help="start the Airflow web UI on saber's state", description=HELP,
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--no-scheduler", action="store_true",
                   help="only the web UI: runs triggered from it will wait")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from saber.backends.embedded import activate, ensure_database
    from saber.cli._ui_watchdog import start_watchdog
    from saber.home import SaberHome

    home = SaberHome.from_env()
    activate(home)
    ensure_database(home)
    base = f"http://{args.host}:{args.port}"
    env = dict(os.environ,
               AIRFLOW__API__BASE_URL=base,
               AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{base}/execution/",
               # The api-server signs task tokens that the scheduler's workers present.
               AIRFLOW__API_AUTH__JWT_SECRET=_secret(home, "jwt_secret"),
               AIRFLOW__API__SECRET_KEY=_secret(home, "secret_key"))
    commands = [["api-server", "--host", args.host, "--port", str(args.port)]]
    if not args.no_scheduler:
        # No log server: it listens on every interface (Airflow hard-codes the address) and only
        # serves running tasks' logs to api-servers on other machines; this one reads the files.
        commands += [["scheduler", "--skip-serve-logs"], ["dag-processor"]]
    print(f"Airflow UI: {base}/  (user admin, password: {_password(home)})", flush=True)
    print(f"state: {home.root}   stop with Ctrl-C", flush=True)
    # Killed outright (SIGKILL, OOM), saber ui cannot stop what it started: the kernel sends each
    # Airflow process SIGTERM, and the watchdog stops the rest of the tree (`_ui_watchdog`).
    start_watchdog()
    procs = [subprocess.Popen([sys.executable, "-m", "airflow", *cmd], env=env, stdin=subprocess.DEVNULL,
                              start_new_session=True,  # a group to stop as a whole: workers, supervisors
                              preexec_fn=functools.partial(die_with_parent, signal.SIGTERM))
             for cmd in commands]
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        return next(p.returncode for p in procs if p.poll() is not None) or 1
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(procs)


def _stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM to each process group (a running task's supervisor passes it on to the task, which
    kills its container), SIGKILL after 30 s."""
    for p in procs:
        _signal_group(p, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _signal_group(p, signal.SIGKILL)
            p.wait()


def _signal_group(proc: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(proc.pid, signum)
    except OSError:
        pass  # the group is gone


def _secret(home, name: str) -> str:
    """One secret per saber home, kept beside Airflow's config, shared by all its processes."""
    path = home.airflow_home / ".saber-secrets.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    if name not in stored:
        stored[name] = secrets.token_urlsafe(32)
        path.write_text(json.dumps(stored))
        path.chmod(0o600)
    return stored[name]


def _password(home) -> str:
    """SimpleAuthManager keeps generated passwords in a JSON file; make it on first use."""
    path = home.airflow_home / "simple_auth_manager_passwords.json.generated"
    if path.exists():
        return json.loads(path.read_text()).get("admin", "?")
    password = secrets.token_urlsafe(12)
    path.write_text(json.dumps({"admin": password}))
    path.chmod(0o600)
    return password
