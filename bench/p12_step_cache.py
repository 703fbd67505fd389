"""P12: the step cache on a sweep that varies only a late step's input.

    .venv/bin/python bench/p12_step_cache.py [--points 16] [--rounds 2]   # ~3-5 min

Workflow: tests/data/cwl/three_steps_wf.cwl (three steps in a line, each a saber/blobs:0.1.0
container; the first two sleep 1 s). Sweep: `factor` over N values (the last step's input),
a fresh `seed` per round so no earlier round's entries are hit.
- baseline: `saber run --no-cache` (every step of every point runs: 3 N containers);
- measured: `saber run` with the step cache (goal: 2 + N containers).
Containers are counted from `docker events` (event=start) over each command's wall. Rounds
alternate the two; the ratio is the median of the paired rounds' wall ratios (cache / no cache).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from p4_samplers import saber_run, throwaway_home

WORKFLOW = Path(__file__).resolve().parents[1] / "tests" / "data" / "cwl" / "three_steps_wf.cwl"


def one(name: str, sweep: Path, tmp: Path, env: dict[str, str], cache: bool) -> tuple[float, int]:
    # Streamed while the run goes: the engine keeps only its last 256 events, fewer than a
    # 48-container run makes, so asking afterwards (--since/--until) undercounts.
    events = subprocess.Popen(["docker", "events", "--filter", "event=start", "--format", "{{.ID}}"],
                              stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    try:
        wall, _ = saber_run(WORKFLOW, sweep, name, tmp, env, workers=2, extra=() if cache else ("--no-cache",))
        time.sleep(1.0)
    finally:
        events.terminate()
    return wall, len(events.communicate(timeout=30)[0].split())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    n = args.points
    tmp, env = throwaway_home("saber-bench-p12-")
    load = os.getloadavg()[0]
    walls: dict[str, list[float]] = {"no-cache": [], "cache": []}
    containers: dict[str, list[int]] = {"no-cache": [], "cache": []}
    for r in range(args.rounds):
        for mode in (("no-cache", "cache") if r % 2 == 0 else ("cache", "no-cache")):
            sweep = tmp / f"sweep-{r}-{mode}.yml"
            # a seed of its own: the cached round must not hit what another round stored
            sweep.write_text(f"seed: [{1000 * r + (1 if mode == 'cache' else 2)}]\n"
                             f"factor: [{', '.join(str(i) for i in range(1, n + 1))}]\n")
            wall, started = one(f"p12-{r}-{mode}", sweep, tmp, env, cache=mode == "cache")
            walls[mode].append(wall)
            containers[mode].append(started)
            print(f"round {r} {mode:8s}: {wall:6.1f} s, {started} containers started", flush=True)
    ratios = [c / b for c, b in zip(walls["cache"], walls["no-cache"])]
    print(f"\nP12 ({n} points, 3 steps, only the last varies; load {load:.1f} at start)")
    print(f"  containers: cache {containers['cache']} (goal {2 + n}), no cache {containers['no-cache']} ({3 * n})")
    print(f"  wall: cache {statistics.median(walls['cache']):.1f} s, no cache {statistics.median(walls['no-cache']):.1f} s")
    print(f"  ratio cache / no cache: {statistics.median(ratios):.2f} (rounds: {', '.join(f'{x:.2f}' for x in ratios)})")
    if any(c != 2 + n for c in containers["cache"]):
        sys.exit("the step cache started more containers than 2 + N")


if __name__ == "__main__":
    main()
