"""saber gc [--older-than 7d] [--dry-run]"""

from __future__ import annotations

import argparse

HELP = """Remove run storage and step-cache entries last touched before --older-than: each run
folder (outputs and scratch) of a run that is not queued or running, and each cache entry not
used since. --outdir folders are never touched (they hold hard links of the outputs, so their
files stay). Prints what it removes and the space freed."""

EXAMPLES = """examples:
  saber gc --dry-run              # what would go, and how much space it frees
  saber gc --older-than 30d"""


def add_parser(sub) -> None:
    p = sub.add_parser("gc", help="remove old run storage and step-cache entries", description=HELP,
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--older-than", default="7d", metavar="AGE",
                   help="keep what was touched more recently than this (90m, 12h, 7d; default 7d)")
    p.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from saber._duration import seconds
    from saber.errors import InputError
    from saber.home import SaberHome
    from saber.runs import collect_garbage

    age = seconds(args.older_than, zero=True)
    if age is None:
        raise InputError(f"--older-than must be a duration like 12h or 7d, got {args.older_than!r}",
                         field="--older-than")
    found = collect_garbage(SaberHome.from_env(), older_than_s=age, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for path in found.runs + found.cache:
        print(f"{verb} {path}")
    kept = f"; kept {found.in_flight} folder(s) of runs in flight" if found.in_flight else ""
    print(f"{verb} {len(found.runs)} run folder(s) and {len(found.cache)} cache item(s): "
          f"{found.freed_bytes / 1e6:.1f} MB {'would be ' if args.dry_run else ''}freed{kept}")
    return 0
