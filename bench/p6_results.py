"""P6, `saber results`: the list and one study's table cost the same for 10^3 or 10^6 trials.

    .venv/bin/python bench/p6_results.py [--counts 1000,10000,100000] [--rounds 1] [--baseline DIR]

For each count N, a SQLite results store of its own holds one study of N complete trials, written
as tests/results_testing.py's write_big_study writes them (one transaction, four saber attributes
a trial). Then each command below runs as a subprocess on it (SABER_DB), stdout to a file:
- `saber results` (the list of studies: counts by state, best value);
- `saber results big` (the table: one page of 100 trials and the whole study's best);
- `saber results big --format json` (the export of every trial, read and written in batches).
Measured: wall seconds and the child's peak RSS (os.wait4; this process stays small, the
stores are written by children), the median of --rounds; ratios are
against the smallest count, in the same run. --baseline DIR runs the list and the table with
another checkout's saber package too (e.g. `git archive HEAD saber | tar -x -C DIR`): the code
before paging, which loaded every trial through Optuna. The load average is printed at the start
and the end; the stores are deleted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

COMMANDS = {"list": ["results"], "table": ["results", "big"], "json": ["results", "big", "--format", "json"]}


def write_store(folder: Path, n: int) -> tuple[str, float]:
    """A results store with the one study "big" of ``n`` trials; its URL and seconds to write.
    Written by a child: this process stays small, and a child's peak RSS (what it forked from
    this one, before its exec, counts) is its own."""
    url = f"sqlite:///{folder / f'results-{n}.db'}"
    began = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--write", url, str(n)], check=True, env={**os.environ,
                   "PYTHONPATH": str(ROOT)}, stderr=subprocess.DEVNULL)
    return url, time.perf_counter() - began


def _write(url: str, n: int) -> None:
    from results_testing import write_big_study

    from saber.scores import ResultsStore

    with ResultsStore(url) as store:
        write_big_study(store, "big", n)


def measure(argv: list[str], url: str, code: Path, out: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of `python -m saber ARGV` on the store at ``url``."""
    env = {**os.environ, "SABER_DB": url, "PYTHONPATH": str(code), "COLUMNS": "200",
           "SABER_HOME": str(out.parent / "home")}
    with open(out, "w") as stdout:
        began = time.perf_counter()
        # cwd: not a checkout, or `-m` would import its saber before PYTHONPATH's.
        proc = subprocess.Popen([sys.executable, "-m", "saber", *argv], env=env, stdout=stdout,
                                stderr=subprocess.PIPE, cwd=out.parent)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - began
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
    proc.stderr.close()
    return seconds, usage.ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counts", default="1000,10000,100000")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--baseline", type=Path, metavar="DIR", help="a folder holding the saber package to compare")
    ap.add_argument("--baseline-max", type=int, default=100_000, help="largest count to run the baseline on")
    ap.add_argument("--json-max", type=int, default=100_000, help="largest count to export as json")
    ap.add_argument("--write", nargs=2, metavar=("URL", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.write:
        _write(args.write[0], int(args.write[1]))
        return
    counts = [int(c) for c in args.counts.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="saber-p6-results-"))
    print(f"P6 results, load {open('/proc/loadavg').read().strip()} at start; "
          f"{args.rounds} round(s), median shown", flush=True)
    stores = {}
    for n in counts:
        stores[n], seconds = write_store(tmp, n)
        print(f"wrote {n:>9,} trials in {seconds:6.1f} s", flush=True)
    codes = {"saber": ROOT} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
    print(f"{'code':<9} {'command':<6} {'trials':>9} {'wall (s)':>9} {'ratio':>6} {'peak RSS (MiB)':>15} {'ratio':>6}")
    for label, code in codes.items():
        for what, argv in COMMANDS.items():
            if label == "baseline" and what == "json":
                continue  # the baseline's table already reads every trial
            base = None
            for n in counts:
                if (label == "baseline" and n > args.baseline_max) or (what == "json" and n > args.json_max):
                    continue
                got = [measure(argv, stores[n], code, tmp / f"{label}-{what}-{n}.out") for _ in range(args.rounds)]
                seconds = statistics.median(s for s, _ in got)
                peak = statistics.median(m for _, m in got)
                base = base or (seconds, peak)
                print(f"{label:<9} {what:<6} {n:>9,} {seconds:>9.2f} {seconds / base[0]:>6.2f} {peak:>15.0f} "
                      f"{peak / base[1]:>6.2f}", flush=True)
    print(f"load {open('/proc/loadavg').read().strip()} at end")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
