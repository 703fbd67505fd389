"""saber status [NAME] [--all] [--format table|json]"""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.markup import escape
from rich.table import Table

HELP = """Show the sweeps and studies in flight: those a `saber run` drives now, and those a
driver that died left running. For each: its DAG, its trials (points) running, done and failed,
its age, and the driving process (pid, host, command) and whether it is alive. A dead one is
resumed by running it again with --study NAME, or stopped with `saber cancel NAME`."""

EXAMPLES = """examples:
  saber status
  saber status blob-tuning
  saber status --all --format json"""


def add_parser(sub) -> None:
    p = sub.add_parser("status", help="show the sweeps and studies in flight and who drives them",
                       description=HELP, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", nargs="?", metavar="NAME", help="one sweep or study (also when it is not running)")
    p.add_argument("--all", action="store_true", dest="every", help="every known sweep and study, running or not")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output on stdout (default: table)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from saber.runs import flights

    found = flights(args.name, every=args.every)
    if args.format == "json":
        print(json.dumps({"flights": [f.to_json() for f in found]}, indent=2))
        return 0
    if not found:
        Console(stderr=True, highlight=False).print("nothing running (saber status --all lists every sweep "
                                                    "and study)", markup=False)
        return 0
    out = Console(highlight=False, soft_wrap=True)
    out.print(_table(found))
    for f in found:  # what the table has no room for: the driver's command, what to do about a dead one
        if f.holder is not None:
            out.print(f"{f.name}: pid {f.holder.pid} on {f.holder.host}: {f.holder.command}", markup=False)
        if f.in_flight and not f.alive:
            out.print(f"[red]{escape(f.name)}: {escape(f.state)}[/]")
    return 0


def _table(found) -> Table:
    table = Table()
    for column in ("name", "kind", "DAG", "running", "done", "failed", "age", "driver", "state"):
        table.add_column(column, justify="right" if column in ("running", "done", "failed", "age") else "left")
    for f in found:
        driver = "none" if f.holder is None else f"{f.holder.pid}@{f.holder.host}"
        state = "[green]alive[/]" if f.alive else "[red]dead[/]" if f.in_flight else "not running"
        table.add_row(escape(f.name), f.kind, escape(f.dag_id or ""), _count(f.running), _count(f.done),
                      _count(f.failed), _age(f.age_s()), escape(driver), state)
    return table


def _count(value: int | None) -> str:
    return "?" if value is None else str(value)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(int(seconds), 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"
