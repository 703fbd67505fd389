"""The `saber` command. Thin: parses arguments, calls the packages, prints with rich."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from saber import __version__
from saber.errors import SaberError

__all__ = ["main", "arg_parser"]

_EPILOG = """examples:
  saber run workflows/blob_count.cwl sweeps/blob_count.yml
  saber run workflows/blob_count.cwl --job workflows/blob_count.job.yml
  saber status                      # what runs, and whether its driver is alive
  saber cancel blob-tuning
  saber dag workflows/blob_count.cwl -o ~/airflow/dags
  saber ui
  saber cwl-runner tool.cwl job.yml
  saber doctor                      # Docker, tool images, home, databases, disk, versions

State (Airflow's SQLite database, DAG files, step outputs) lives under $SABER_HOME (~/.saber).
"""


def arg_parser() -> argparse.ArgumentParser:
    from saber.cli import _bossdb, _cancel, _cwl_runner, _dag, _doctor, _gc, _results, _run, _status, _tools, _ui

    parser = argparse.ArgumentParser(
        prog="saber", description="Run CWL workflows and parameter sweeps as Airflow 3 DAGs, steps in Docker.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"saber {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (_run, _status, _cancel, _gc, _dag, _results, _ui, _cwl_runner, _bossdb, _tools, _doctor):
        module.add_parser(sub)
    return parser


def _drop_stdout() -> None:
    """Point stdout at /dev/null: Python flushes it once more at exit."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None, *, exiting: bool | None = None) -> int:
    from saber._phases import mark, process_start

    if argv is None or exiting:
        from saber.cli import _warm

        code = _warm.call(list(sys.argv[1:] if argv is None else argv))
        if code is not None:  # the call ran in the warm server's child (saber.cli._warm)
            return code
        mark("exec", at=process_start())
    try:
        args = arg_parser().parse_args(argv)  # --help writes to stdout too
        mark("imports")
        return int(args.func(args) or 0)
    except SaberError as e:
        from rich.console import Console

        Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]saber:[/] {e}", markup=True)
        return e.exit_code
    except KeyboardInterrupt as e:
        print(f"saber: interrupted{f' ({e})' if str(e) else ''}", file=sys.stderr)
        return getattr(e, "exit_code", 130)
    except BrokenPipeError:
        # `saber results --format csv | head -1`: the reader has all it wants. Exit 1 without a
        # traceback (nor another at exit's flush), as rich does for what it prints itself.
        _drop_stdout()
        return 1
    finally:
        if argv is None or exiting:
            # The program is about to exit: Airflow and cwltool leave millions of objects whose
            # collection at interpreter exit takes ~2 s for nothing.
            import gc

            gc.freeze()
            mark("main")


if __name__ == "__main__":
    sys.exit(main())
