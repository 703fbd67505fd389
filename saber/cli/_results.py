"""saber results [NAME] [--format table|csv|json] [--offset M] [--limit N | --all] [--plots DIR]"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

HELP = """Show the studies in the results database ($SABER_DB, default $SABER_HOME/results.db),
or with NAME the trials of one study (parameters, score, state, start, duration, container
seconds) and the best one. Each is listed by kind: `run` (one point, no sweep file), `sweep`
(every point of a grid) or `study` (a sampler chose the trials); --kind keeps one kind.
The table shows one page of trials (the first 100; --offset and --limit choose another, --all
shows every one); --format csv and json are complete exports of every trial, written as they
are read (--offset/--limit narrow them too). The best trial is always the whole study's."""

DEFAULT_LIMIT = 100  # trials in the table when no --limit is given

EXAMPLES = """examples:
  saber results
  saber results blob-tuning
  saber results blob-tuning --offset 100          # the table's second page
  saber results blob-tuning --format csv > trials.csv
  saber results blob-tuning --plots plots/
--plots writes history, slice and importance plots of the varied parameters as .png and .html
(offline: the pages share the plotly.min.js written beside them)."""


def add_parser(sub) -> None:
    p = sub.add_parser("results", help="show studies and their trials from the results database",
                       description=HELP, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", nargs="?", metavar="NAME", help="a study; omit to list them all")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table",
                   help="output on stdout (default: table)")
    p.add_argument("--offset", metavar="M", help="skip the first M trials, in number order (default: 0)")
    pages = p.add_mutually_exclusive_group()
    pages.add_argument("--limit", metavar="N", help=f"show N trials (default: {DEFAULT_LIMIT} in the table, "
                                                    "every one in csv and json)")
    pages.add_argument("--all", action="store_true", help="every trial in the table too (slow for huge studies)")
    p.add_argument("--plots", type=Path, metavar="DIR", help="also write the study's plots in DIR")
    p.add_argument("--kind", choices=("run", "sweep", "study", "manual"), action="append",
                   help="list only this kind (repeatable): single runs, grid sweeps, sampler studies, "
                        "runs triggered by hand in Airflow")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from saber.errors import InputError
    from saber.scores import ResultsStore, results_url

    if args.plots and not args.name:
        raise InputError("--plots needs a study NAME")
    if args.kind and args.name:
        raise InputError("--kind filters the list of studies; it does not go with a NAME")
    if not args.name and (args.offset is not None or args.limit is not None or args.all):
        raise InputError("--offset, --limit and --all choose one study's trials; they need a study NAME")
    offset = _count("--offset", args.offset, 0) or 0
    limit = _count("--limit", args.limit, 1)
    if limit is None and not args.all and args.format == "table":
        limit = DEFAULT_LIMIT
    out = Console(highlight=False, soft_wrap=False)
    with ResultsStore(results_url()) as store:
        if not args.name:
            _print_studies(store, args.format, out, args.kind)
            return 0
        if args.format == "table":
            _print_report(store.study_report(args.name, offset=offset, limit=limit), out)
        else:
            _export(store, args.name, args.format, offset, limit)
        if args.plots:
            _plots(store, args.name, args.plots)
    return 0


def _count(option: str, value: str | None, least: int) -> int | None:
    """The whole number given to ``option``, at least ``least`` (InputError otherwise)."""
    from saber.errors import InputError

    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < least:
        raise InputError(f"{option} takes a whole number of trials, {least} or more, not '{value}'")
    return number


def _print_studies(store, fmt: str, out: Console, kinds: list[str] | None = None) -> None:
    rows = [s for s in store.list_studies() if not kinds or s.kind in kinds]
    columns = ["name", "kind", "direction", "method", "objective", "trials", "complete", "failed", "running",
               "waiting", "best", "created"]
    lines = [[s.name, s.kind, s.direction, s.method, s.objective, s.n_trials, s.states.get("COMPLETE", 0),
              s.states.get("FAIL", 0), s.states.get("RUNNING", 0), s.states.get("WAITING", 0), s.best_value,
              s.created] for s in rows]
    if fmt == "json":
        studies = [dict(zip(columns, line), workflow=s.workflow, states=s.states) for s, line in zip(rows, lines)]
        print(json.dumps({"studies": studies}, indent=2))
    elif fmt == "csv":
        _csv([columns, *([_num(v) if isinstance(v, float) else v or "" for v in line] for line in lines)])
    elif not rows:
        what = f"no {' or '.join(kinds)} results" if kinds else "no studies yet"
        Console(stderr=True, highlight=False).print(f"{what} in {store.display_url}", markup=False)
    else:
        # A terminal is often 80 columns: the table keeps what tells studies apart (json has all).
        table = Table(title=escape(f"studies in {store.display_url}"))
        for column in ("name", "kind", "method", "objective", "trials", "ok", "failed", "best", "created"):
            table.add_column(column, justify="right" if column in ("trials", "ok", "failed", "best") else "left")
        for s in rows:
            table.add_row(escape(s.name), s.kind, s.method or "", escape(f"{s.direction[:3]} {s.objective or ''}"),
                          str(s.n_trials), str(s.states.get("COMPLETE", 0)), str(s.states.get("FAIL", 0)),
                          _num(s.best_value), (s.created or "")[:16].replace("T", " "))
        out.print(table)


def _export(store, name: str, fmt: str, offset: int, limit: int | None) -> None:
    """Every trial (or those chosen), read and written a batch at a time."""
    from saber.scores import report_csv, report_json_text

    header = store.study_report(name, limit=0)  # the study and its best trial, no trials
    if fmt == "json":
        for text in report_json_text(header, store.trials(name, offset=offset, limit=limit)):
            sys.stdout.write(text)
        sys.stdout.write("\n")
    else:
        labels = store.labels(name, offset=offset, limit=limit)
        _csv(report_csv(header, store.trials(name, offset=offset, limit=limit), labels))


def _print_report(report, out: Console) -> None:
    out.print(_trials_table(report))
    if len(report.trials) < report.n_trials:
        out.print(_paging(report), markup=False)
    best = report.best
    if report.n_objectives == 0:
        out.print("best: none, a plain sweep (its workflow has no scored step)", markup=False)
    elif report.n_objectives > 1:
        out.print(f"best: none, each of the {report.n_objectives} scored steps is an objective (name one "
                  "with sampler.objective for a single best)", markup=False)
    else:
        out.print("best: none yet (no complete trial)" if best is None else
                  f"best: trial {best.number}, score {_num(best.score)} ({report.direction}), "
                  f"parameters {json.dumps(best.params)}", markup=False)


def _paging(report) -> str:
    """Which trials the table shows, and how to see the others."""
    if not report.trials:
        return (f"no trials shown: --offset {report.offset:,} is past the study's {report.n_trials:,}; "
                "--format csv|json for all")
    first, last = report.offset + 1, report.offset + len(report.trials)
    return (f"trials {first:,}–{last:,} of {report.n_trials:,} shown; --offset/--limit for others, "
            "--format csv|json for all")


def _trials_table(report) -> Table:
    objective = report.objective
    several = report.n_objectives > 1
    # Several objectives: one score column per scored step instead of one score.
    scores = report.step_labels if several else ["score"]
    others = [] if several else [label for label in report.step_labels
                                 if label != objective and not label.startswith(f"{objective}[")]
    if not report.n_objectives:  # a plain sweep: no score column at all
        scores, goal = [], "plain sweep, no score"
    elif several:
        goal = f"{report.direction.split(',')[0]} each of {objective}"
    else:
        goal = f"{report.direction} {objective or 'score'}"
    table = Table(title=escape(f"study {report.study}: {goal}" + (f" ({report.method})" if report.method else "")),
                  caption="* best trial" if report.n_objectives == 1 else None)
    for column in ("#", "parameters", *scores, "state", "start", "duration s", "container s"):
        table.add_column(escape(column), justify="right" if column in ("#", *scores, "duration s", "container s")
                         else "left")
    if others:
        table.add_column("other scores")
    colours = {"COMPLETE": "green", "FAIL": "red", "RUNNING": "yellow", "WAITING": "dim"}
    best = report.best.number if report.best else None
    for t in report.trials:
        values = [_num(t.steps.get(label)) for label in scores] if several or not scores else [_num(t.score)]
        cells = [f"[bold]{t.number}*[/]" if t.number == best else str(t.number),
                 escape(", ".join(f"{k}={json.dumps(v)}" for k, v in t.params.items())), *values,
                 f"[{colours.get(t.state, 'default')}]{t.state}[/]" + (escape(f": {t.error}") if t.error else ""),
                 t.start.strftime("%Y-%m-%d %H:%M:%S") if t.start else "", _secs(t.duration_s),
                 _secs(t.container_s)]
        if others:
            cells.append(escape(", ".join(f"{label}={_num(t.steps[label])}" for label in others
                                          if label in t.steps)))
        table.add_row(*cells)
    return table


def _plots(store, name: str, folder: Path) -> None:
    import optuna

    from saber.scores import write_plots

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    plots = write_plots(optuna.load_study(study_name=name, storage=store.storage), folder)
    for note in plots.skipped:
        err.print(f"note: {note}", markup=False)
    if plots.written:
        err.print(f"plots: {len(plots.written)} files in {folder}", markup=False)


def _csv(rows) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    for row in rows:
        writer.writerow(row)


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def _secs(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"
