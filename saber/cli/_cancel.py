"""saber cancel NAME [--timeout S]"""

from __future__ import annotations

import argparse

from rich.console import Console

HELP = """Stop a sweep or study. A live `saber run` driving it on this host is asked to stop
(SIGTERM, like Ctrl-C: it fails its unfinished runs, kills their containers and fails their
trials) and killed if it has not stopped after --timeout seconds. What a dead driver left is
cleaned up here: its active DAG runs are failed and their containers killed, its RUNNING trials
failed, its lease removed. A driver on another host is refused: cancel it there."""

EXAMPLES = """examples:
  saber cancel blob-tuning
  saber status            # what is in flight, and which driver is dead"""


def add_parser(sub) -> None:
    p = sub.add_parser("cancel", help="stop a sweep or study (its driver, runs, containers and trials)",
                       description=HELP, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", metavar="NAME", help="the sweep or study (see saber status)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="S",
                   help="seconds a live driver has to stop before it is killed (default 60)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from saber.runs import cancel

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    done = cancel(args.name, timeout=args.timeout, on_step=lambda line: err.print(line, markup=False))
    if done.nothing:
        print(f"nothing running under {args.name}")
        return 0
    for line in _report(done):
        print(line)
    return 0


def _report(done) -> list[str]:
    driver = done.driver
    if done.stopped:
        how = "killed (SIGKILL)" if done.killed else "stopped"
        head = f"its saber run (pid {driver.pid}) {how} after {done.waited_s:.1f} s"
    elif driver is not None:
        head = f"its saber run (pid {driver.pid} on {driver.host}) was dead: cleaned up what it left"
    else:
        head = "no saber run drove it: cleaned up what was left"
    runs = ", ".join(done.runs) or "none"
    trials = ", ".join(map(str, done.trials)) or "none"
    lines = [f"{done.name}: {head}",
             f"runs failed: {runs}; containers killed: {done.containers}; trials failed: {trials}"]
    if done.lease_dropped:
        lines.append(f"removed the lease its dead driver left on {done.name}")
    if done.elsewhere and (not done.stopped or done.killed):
        lines.append(f"its DAG runs live on {done.elsewhere}: saber cancel does not stop them there; resuming "
                     f"it (saber run ... --study {done.name}) there stops those still going")
    return lines
