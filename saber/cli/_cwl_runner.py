"""saber cwl-runner [--outdir DIR] [--quiet] PROCESS.cwl [JOB]  (also installed as saber-cwl-runner)"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from saber.errors import SaberError

HELP = """Run one CWL tool or workflow on one job through saber's real path (plan, Airflow DAG, one
DAG run, every step by saber's operator in Docker) and print the CWL output object as JSON on
stdout, as cwltool does. Exit status: 0 on success, 1 if the run failed, 2 for bad input, 33 for a
requirement saber does not support. This is the runner the CWL conformance suite (cwltest) calls."""

EXAMPLES = """examples:
  saber cwl-runner --outdir out/ tests/cat1-testcli.cwl tests/cat-job.json
  cwltest --test conformance_tests.yaml --tool saber-cwl-runner -j 2"""


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("process", help="CWL CommandLineTool, ExpressionTool or Workflow (FILE or FILE#id)")
    p.add_argument("job", nargs="?", help="job order (YAML/JSON); omit when every input has a default")
    p.add_argument("--outdir", type=Path, default=Path.cwd(), help="where output files go (default: .)")
    p.add_argument("--quiet", action="store_true", help="print only the output object and errors")
    p.add_argument("--workers", type=int, metavar="N",
                   help="run N tasks at once, fixed (default: as many as the cores, and up to 4 per core "
                        "while the CPU is measured idle; a step whose ResourceRequirement gives its cores "
                        "stays within them)")
    p.add_argument("--keep", action="store_true", help="keep the run's throw-away saber home, for debugging")
    p.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error")


def add_parser(sub) -> None:
    p = sub.add_parser("cwl-runner", help="run one CWL process + job, print outputs (cwltest contract)",
                       description=HELP, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    _arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    def say(line: str) -> None:
        if not args.quiet:
            print(f"saber: {line}", file=sys.stderr)

    # stdout carries the output object and nothing else: whatever Airflow, cwltool or a library
    # prints on the way goes to stderr instead.
    sys.stdout.flush()
    stdout = os.dup(1)
    os.dup2(2, 1)
    try:
        outputs = _run_in_throwaway_home(args, say)
    except SaberError:
        raise
    except Exception as e:  # cwltest shows stderr: one readable line, the traceback on request
        if args.debug:
            raise
        raise SaberError(f"{args.process}: {type(e).__name__}: {e} (--debug shows the traceback)") from e
    finally:
        sys.stdout.flush()
        os.dup2(stdout, 1)
        os.close(stdout)
    sys.stdout.write(json.dumps(outputs, indent=4, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return 0


def _run_in_throwaway_home(args: argparse.Namespace, say) -> dict:
    """Every call gets its own saber home (so parallel calls never share a database), with its
    Airflow database copied from a template migrated once under ``$SABER_HOME/cache``. A
    watchdog removes the home and kills the run's containers if this process is killed."""
    import shutil
    import tempfile

    from saber.backends.embedded import EmbeddedBackend
    from saber.backends.embedded._reaper import Reaper
    from saber.home import SaberHome
    from saber.runs import run_cwl

    base = SaberHome.from_env()
    scratch = Path(tempfile.mkdtemp(prefix="saber-cwl-"))
    os.environ.pop("SABER_STORAGE", None)  # run storage lives in the throw-away home too
    reaper = Reaper(scratch, remove=not args.keep)
    try:
        backend = EmbeddedBackend(home=SaberHome(scratch), workers=args.workers, own=True,
                                  template_dir=base.cache, single_run=args.workers is None, reaper=False)
        return run_cwl(args.process, args.job, outdir=args.outdir, backend=backend, say=say)
    finally:
        reaper.release()
        if args.keep:
            say(f"kept the run's saber home: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    """The `saber-cwl-runner` console script: `saber cwl-runner` under the name cwltest expects."""
    from saber.cli import main as saber_main

    sys.exit(saber_main(["cwl-runner", *sys.argv[1:]], exiting=True))
