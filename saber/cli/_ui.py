"""saber ui: Airflow's web UI (api-server) on the same state as `saber run`."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

HELP = """Start the Airflow web UI on 127.0.0.1 over $SABER_HOME: one DAG per workflow, one DAG
run per sweep point, each step a task with its log. Stop it with Ctrl-C."""

EXAMPLES = """example:
  saber ui --port 8080      # then open http://127.0.0.1:8080 and log in as admin"""


def add_parser(sub) -> None:
    p = sub.add_parser("ui", help="start the Airflow web UI on saber's state", description=HELP,
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--host", default="127.0.0.1")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from saber.embedded import SaberHome

    home = SaberHome.from_env()
    home.activate()
    home.ensure_database()
    env = dict(os.environ, AIRFLOW__API__BASE_URL=f"http://{args.host}:{args.port}")
    cmd = [sys.executable, "-m", "airflow", "api-server", "--host", args.host, "--port", str(args.port)]
    print(f"Airflow UI: http://{args.host}:{args.port}/  (user admin, password: {_password(home)})",
          flush=True)
    print(f"state: {home.root}   stop with Ctrl-C", flush=True)
    proc = subprocess.Popen(cmd, env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait(timeout=30)
        return 0


def _password(home) -> str:
    """SimpleAuthManager keeps generated passwords in a JSON file; make it on first use."""
    import json
    import secrets

    path = home.airflow_home / "simple_auth_manager_passwords.json.generated"
    if path.exists():
        return json.loads(path.read_text()).get("admin", "?")
    password = secrets.token_urlsafe(12)
    path.write_text(json.dumps({"admin": password}))
    return password
