"""saber doctor: is this machine ready to run saber? One line per check, exit 1 on a FAIL."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = """Check, one line each (ok, warn or FAIL): the Docker engine answers; every image of the tool
registry is built and current (its saber.context-sha256 label matches dockerfiles/<name>/); the
saber home ($SABER_HOME) is writable; its Airflow database and the results store ($SABER_DB)
answer; the run storage has free disk (warn under 1 GiB, FAIL under 100 MiB); the installed
Airflow and cwltool are the versions saber was tested with. Nothing is created or changed.
Exit status 1 if any check FAILs, else 0."""


def add_parser(sub) -> None:
    p = sub.add_parser("doctor", help="check Docker, the tool images, the home, databases, disk, versions",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", type=Path,
                   help="the checkout holding cwl_tools/ and dockerfiles/ whose images are checked (default: here)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from saber.cli._doctor_checks import run_checks
    from saber.cli._progress import console_for
    from saber.home import SaberHome

    out = console_for()
    colour = {"ok": "green", "warn": "yellow", "FAIL": "bold red"}
    failed = 0
    for check in run_checks(SaberHome.from_env(), args.root):
        failed += check.status == "FAIL"
        out.print(f"[{colour[check.status]}]{check.status:<4}[/]  {escape(check.what)}")
    return 1 if failed else 0
