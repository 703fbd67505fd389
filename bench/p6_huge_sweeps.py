"""P6: a huge sweep or study starts its first run as soon as a small one, memory flat in the count.

    .venv/bin/python bench/p6_huge_sweeps.py [--counts 10,1000,10000,100000,1000000] [--rounds 1]

For each count N, on one throw-away home:
- sweep: `saber run bench/p6/one_int.cwl` over a grid of N points (a range of N ints);
- study: `saber run tests/data/cwl/quadratic.cwl`, tpe over a range of N floats (max_iterations 2).
Measured from the command's start to the first container Docker starts (streamed `docker events`),
and the `saber run` process's peak resident memory (VmHWM) at that moment; the run is then
stopped with SIGINT. Ratios are against the smallest count, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from p4_samplers import PY, throwaway_home

ROOT = Path(__file__).resolve().parents[1]
PLAIN = ROOT / "bench" / "p6" / "one_int.cwl"
SCORED = ROOT / "tests" / "data" / "cwl" / "quadratic.cwl"


def _sweep(tmp: Path, kind: str, n: int) -> tuple[Path, Path]:
    path = tmp / f"{kind}-{n}.yml"
    if kind == "sweep":
        path.write_text(f"n: {{range: {{start: 0, stop: {n}, step: 1}}}}\n")
        return PLAIN, path
    path.write_text(f"x: {{range: {{start: 0, stop: 1, step: {1 / n!r}}}}}\n"
                    "sampler: {method: tpe, max_iterations: 2, seed: 1}\n")
    return SCORED, path


def _peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def first_run(tool: Path, sweep: Path, tmp: Path, env: dict[str, str], name: str) -> tuple[float, float]:
    """Seconds to the first container, and the saber process's peak RSS (MiB) by then."""
    events = subprocess.Popen(["docker", "events", "--filter", "event=start", "--filter", "image=saber/blobs:0.1.0",
                               "--format", "{{.ID}}"],
                              stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    log = open(tmp / f"{name}.log", "w")
    started = time.perf_counter()
    proc = subprocess.Popen([PY, "-m", "saber", "run", str(tool), str(sweep), "--outdir", str(tmp / f"out-{name}"),
                             "--workers", "2"], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        line = events.stdout.readline()  # blocks until Docker starts the first container
        seconds = time.perf_counter() - started
        if not line or proc.poll() is not None:
            sys.exit(f"{name}: no container started (rc={proc.poll()}, log {tmp / f'{name}.log'})")
        peak = _peak_kib(proc.pid) / 1024
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    finally:
        events.terminate()
        events.wait(timeout=30)
        log.close()
    return seconds, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counts", default="10,1000,10000,100000,1000000")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--kinds", default="sweep,study")
    args = ap.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    tmp, env = throwaway_home("saber-p6-")
    # The peak RSS is read from the process started here: it must be the one that expands the
    # sweep, not a warm server's client (saber/cli/_warm.py) whose child does the work.
    env["SABER_WARM"] = "0"
    load = os.getloadavg()[0]
    print(f"P6, load {load:.1f} at start; {args.rounds} round(s), median shown")
    print(f"{'kind':<6} {'points':>9} {'first run (s)':>14} {'ratio':>6} {'peak RSS (MiB)':>15} {'ratio':>6}")
    for kind in args.kinds.split(","):
        base = None
        for n in counts:
            tool, sweep = _sweep(tmp, kind, n)
            got = [first_run(tool, sweep, tmp, env, f"{kind}-{n}-{r}") for r in range(args.rounds)]
            seconds = statistics.median(s for s, _ in got)
            peak = statistics.median(m for _, m in got)
            base = base or (seconds, peak)
            print(f"{kind:<6} {n:>9} {seconds:>14.2f} {seconds / base[0]:>6.2f} {peak:>15.0f} {peak / base[1]:>6.2f}",
                  flush=True)
    print(f"load {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
