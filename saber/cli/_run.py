"""saber run WORKFLOW.cwl [SWEEP.yml] [--job JOB.yml] [--outdir DIR]"""

from __future__ import annotations

import argparse
import json
import os
import signal
from pathlib import Path

from rich.markup import escape
from rich.table import Table

HELP = """Validate WORKFLOW and SWEEP, compile the workflow to an Airflow DAG, and run every sweep
point as a DAG run with each step in a Docker container. When a step has a score_format hint,
the sweep is a study: its sampler (grid, random, batch-grid, tpe, cmaes) picks the trials,
round by round, from the scores of the earlier ones. Exit status 0 only if every point (trial)
succeeded; 2 for bad input."""

EXAMPLES = """examples:
  saber run workflows/blob_count.cwl sweeps/blob_count.yml
  saber run workflows/blob_count.cwl --job workflows/blob_count.job.yml --outdir results/
  saber run workflows/blob_count.cwl sweeps/blob_count_tpe.yml --study tune1   # again: resumes
  saber run workflows/blob_count.cwl sweeps/blob_count.yml --airflow http://airflow:8080 \
      --dags-folder /mnt/airflow/dags     # on your own Airflow (credentials: $SABER_AIRFLOW_*)
  saber run workflows/blob_count.cwl sweeps/blob_count_tpe.yml --notify https://hooks.slack.com/services/...
Each point's outputs and a summary.json land in --outdir
(default ./saber-out/<workflow>/<study>/); `saber results STUDY` shows a study's trials."""


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="run a workflow over a sweep (embedded Airflow)", description=HELP,
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("workflow", type=Path, help="CWL Workflow or CommandLineTool (v1.0-v1.2)")
    p.add_argument("sweep", type=Path, nargs="?", help="parameter-sweep YAML; omit to run one point")
    p.add_argument("--job", type=Path, help="CWL job file with the base inputs")
    p.add_argument("--outdir", type=Path, help="where outputs and summary.json go")
    p.add_argument("--study", "--sweep-id", dest="sweep_id", metavar="NAME",
                   help="name of this sweep or study; an existing study of that name is resumed "
                        "(default: a fresh timestamped name)")
    p.add_argument("--no-cache", dest="cache", action="store_false",
                   help="run every step, even one whose tool, image and inputs ran before (the step "
                        "cache under the run storage is neither read nor written)")
    p.add_argument("--retries", type=int, metavar="N",
                   help="try a failed step up to N more times, whatever failed (default: a step whose "
                        "container was killed or whose Docker engine refused it gets one more try; a "
                        "tool's own non-zero exit none); a step's own `saber: {retries: N}` hint wins")
    p.add_argument("--retry-delay", type=float, metavar="S", help="seconds between tries (default 2)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="run N tasks at once, fixed (default: as many as the cores, and up to 4 per core "
                        "while the CPU is measured idle, for steps that wait on Docker or I/O rather than "
                        "compute; a step whose ResourceRequirement gives its cores stays within them; "
                        "embedded only)")
    p.add_argument("--airflow", metavar="URL", default=os.environ.get("SABER_AIRFLOW_URL") or None,
                   help="run on this Airflow deployment through its REST API v2 instead of the embedded "
                        "one ($SABER_AIRFLOW_URL); credentials from $SABER_AIRFLOW_USERNAME and "
                        "$SABER_AIRFLOW_PASSWORD, or $SABER_AIRFLOW_TOKEN")
    p.add_argument("--dags-folder", type=Path, metavar="DIR",
                   help="with --airflow: the deployment's DAGs folder (mounted or synced); saber writes "
                        "the DAG there and waits until the deployment has parsed it. Without it, the DAG "
                        "must already be deployed (saber dag -o)")
    p.add_argument("--storage", metavar="URL", default=None,
                   help="keep run data on S3: s3://BUCKET/PREFIX (default $SABER_STORAGE when it names "
                        "S3, else the local run storage). The client uploads the job's local files once "
                        "(content-addressed), tasks stage inputs from it and publish outputs to it, so "
                        "workers share no folder; credentials and endpoint from boto3's chain "
                        "(AWS_* variables, ~/.aws, an instance role; AWS_ENDPOINT_URL for S3-compatible stores)")
    p.add_argument("--no-download", dest="download", action="store_false",
                   help="with S3 storage: summary.json gives the final outputs' s3:// locations instead of "
                        "downloading them into --outdir")
    p.add_argument("--notify", action="append", metavar="URL",
                   help="POST a JSON message to this webhook when the study or sweep ends, fails or is "
                        "interrupted (repeatable; also $SABER_NOTIFY and the sweep file's sampler.notify); "
                        "a Slack incoming webhook gets Slack's format. The study's link uses --airflow, "
                        "else $SABER_UI_URL")
    p.add_argument("--sync-timeout", type=float, default=300.0, metavar="S",
                   help="with --dags-folder: seconds to wait for the deployment to parse the DAG "
                        "(default 300)")
    p.set_defaults(func=run)


def _storage(given: str | None) -> str | None:
    """The run's S3 storage URL (checked: one sentence for a bad one), or None for local."""
    from saber.errors import InputError
    from saber.home import remote_storage

    url = given or remote_storage()
    if url is None:
        return None
    if not url.startswith("s3://"):
        raise InputError(f"--storage takes s3://BUCKET/PREFIX, got {url!r} (local run storage is "
                         "$SABER_STORAGE or $SABER_HOME/storage)", field="--storage")
    from saber.storage import storage_for

    return storage_for(url).url


def backend_for(args: argparse.Namespace):
    """The embedded backend on $SABER_HOME, or a deployment's with --airflow."""
    from saber.backends import get_backend
    from saber.errors import InputError
    from saber.home import SaberHome

    if args.airflow:
        return get_backend("airflow", url=args.airflow, dags_folder=args.dags_folder,
                           sync_timeout=args.sync_timeout)
    if args.dags_folder:
        raise InputError("--dags-folder names a deployment's DAGs folder: give --airflow URL too")
    return get_backend("embedded", home=SaberHome.from_env(), workers=args.workers)


def _stop_on_signals() -> None:
    """SIGTERM and SIGHUP (a lost SSH session) stop a run like Ctrl-C: unfinished runs failed,
    containers killed, exit 130 (143 for SIGTERM)."""
    def stop(signum, _frame):
        signal.signal(signum, signal.SIG_IGN)  # a second signal must not break the clean-up
        raise Stopped(signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)


class Stopped(KeyboardInterrupt):
    """A stop signal other than SIGINT, with its number (the exit status is 128 + it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.exit_code = 128 + signum


def run(args: argparse.Namespace) -> int:
    from saber.runs import RunSpec, run_sweep, scores_text

    from saber.errors import InputError

    if args.retries is not None and args.retries < 0:
        raise InputError(f"--retries must be 0 or more, got {args.retries}", field="--retries")
    if args.retry_delay is not None and args.retry_delay < 0:
        raise InputError(f"--retry-delay must be 0 or more seconds, got {args.retry_delay:g}", field="--retry-delay")
    from saber.cli._progress import console_for, live_progress
    from saber.runs._notify import command_line_urls

    # The result (its table, where the outputs are) on stdout, for `saber run ... > result.txt`;
    # progress and messages on stderr.
    err, out = console_for(stderr=True), console_for()
    spec = RunSpec(workflow=args.workflow, sweep=args.sweep, job=args.job, outdir=args.outdir,
                   sweep_id=args.sweep_id, workers=args.workers, cache=args.cache,
                   retries=args.retries, retry_delay=args.retry_delay,
                   storage=_storage(args.storage), download=args.download,
                   notify=command_line_urls(args.notify, os.environ.get("SABER_NOTIFY")),
                   ui=args.airflow or os.environ.get("SABER_UI_URL") or None)
    backend = backend_for(args)
    where = args.airflow or str(getattr(backend, "home", None) and backend.home.dags)
    _stop_on_signals()
    studies = []  # the study, once run_sweep has set it up
    with live_progress(err) as progress:
        def ready(plan: dict, count: int | None, study) -> None:
            studies.append(study)
            progress.headway.ready(count, study)
            goal = f"{study.direction} {', '.join(study.objectives)}" if study else ""
            what = f"{count} point(s)" if study is None else (
                f"study [bold]{study.name}[/] ({study.method}, {goal}"
                f"{f', {count} trials' if count else ''}{f', max {study.max_time:g} s' if study.max_time else ''})")
            err.print(f"[bold]{plan['name']}[/]: {len(plan['steps'])} steps, {what}; "
                      f"DAG [cyan]{plan['dag_id']}[/] on {where}")

        def trial(record) -> None:
            progress.headway.trial(record)
            if record.state != "COMPLETE":
                shown = f"[red]failed[/]: {escape(str(record.error))}"
            elif isinstance(record.value, list):  # several objectives: each step's score
                shown = escape(scores_text(record.value, studies[-1]))
            else:
                shown = f"score [bold]{record.value:.6g}[/]"
            err.print(f"trial {record.number}: {_short(record.params, 60)}  {shown}")

        summary = run_sweep(spec, backend=backend, on_ready=ready, on_trial=trial, on_progress=progress.update)
    out.print(_result_table(summary))
    if summary.study:
        out.print(f"best trial of study [bold]{summary.sweep_id}[/]: {_best(summary.study)}"
                  f"   (saber results {summary.sweep_id})")
    out.print(f"outputs and summary.json: {summary.outdir}   ({summary.seconds:.1f} s)")
    err.print(f"see the runs in the Airflow UI: [bold]{args.airflow or 'saber ui'}[/]")
    return 0 if summary.ok else 1


_TABLE_ROWS = 200  # a sweep of a million points is summarised, not printed


def _result_table(summary) -> Table:
    table = Table(title=f"{'study' if summary.study else 'sweep'} {summary.sweep_id}")
    table.add_column("#")
    table.add_column("parameters")
    table.add_column("state")
    if summary.study:
        table.add_column("score")
    table.add_column("outputs")
    shown_points = summary.points[:_TABLE_ROWS]
    for p in shown_points:
        state = p.state if p.error is None or p.state != "success" else "no score"
        colour = "green" if state == "success" else "red"
        score = ([_scores(p.score)] if summary.study else [])
        shown = (_short(_brief(p.outputs)) if p.outputs is not None or not p.error
                 else f"[red]{escape(p.error if len(p.error) <= 120 else p.error[:119] + '…')}[/]")
        table.add_row(str(p.index), _short(p.params), f"[{colour}]{state}[/]", *score, shown)
    if len(summary.points) > len(shown_points):
        more = len(summary.points) - len(shown_points)
        failed = sum(p.state != "success" or p.error is not None for p in summary.points[_TABLE_ROWS:])
        table.add_row("…", f"{more} more ({failed} not successful): summary.json lists every one", "",
                      *([""] if summary.study else []), "")
    return table


def _best(study: dict) -> str:
    objective, best = study["objective"], study["best"]
    if not isinstance(objective, str):
        return f"none, each of the {len(objective)} scored steps ({', '.join(objective)}) is an objective"
    if best is None:
        return "none (no trial completed)"
    return f"#{best['number']} {_short(best['params'])} score [bold green]{best['value']:.6g}[/]"


def _scores(score: float | list[float] | None) -> str:
    """One score, or one per objective (several scored steps)."""
    if score is None:
        return ""
    return ", ".join(f"{v:.6g}" for v in score) if isinstance(score, list) else f"{score:.6g}"


def _brief(value):
    """Files show as their names in the table; summary.json has everything."""
    if isinstance(value, dict):
        if value.get("class") in ("File", "Directory"):
            return value.get("basename")
        return {k: _brief(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_brief(v) for v in value]
    return value


def _short(value, limit: int = 90) -> str:
    if value in (None, {}):
        return ""
    text = json.dumps(value, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"
