"""P10: the cost of run data on S3: a 3-step workflow passing a 64 MiB file step to step.

    .venv/bin/python bench/p10_s3_staging.py [--rounds 3] [--mib 64]      # ~2-3 min

Workflow: bench/p10/pass_64mib_wf.cwl (make a file of random bytes, copy it with a suffix,
summarise it), one point, `--no-cache` (every step runs), on a throw-away home.
- baseline: the local run storage (outputs stay on the machine's disk);
- measured: `--storage s3://BUCKET/p10` on a throw-away SeaweedFS on 127.0.0.1 (tests/s3_server.py):
  each step fetches its input from S3 and publishes its output there, the client downloads the
  final output.
Rounds alternate the two; the ratio is the median of the paired rounds' wall ratios (S3 / local).
Goal (issue 13): at most 1.3.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from p4_samplers import saber_run, throwaway_home

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from s3_server import s3_server  # noqa: E402  (the tests' throw-away SeaweedFS)

WORKFLOW = ROOT / "bench" / "p10" / "pass_64mib_wf.cwl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--mib", type=int, default=64)
    args = ap.parse_args()
    tmp, env = throwaway_home("saber-p10-")
    sweep = tmp / "sweep.yml"
    sweep.write_text(f"mib: [{args.mib}]\n")
    with s3_server() as server:
        bucket = server.new_bucket("p10")
        s3_env = {**env, **server.env}
        print(f"P10, {args.mib} MiB passed along 3 steps; SeaweedFS up in {server.start_s:.1f} s; "
              f"load {os.getloadavg()[0]:.1f} at start")
        print(f"{'round':>5} {'local (s)':>10} {'S3 (s)':>8} {'ratio':>6}")
        ratios, walls = [], {"local": [], "s3": []}
        for r in range(args.rounds):
            local, _ = saber_run(WORKFLOW, sweep, f"local{r}", tmp, env, workers=2, extra=("--no-cache",))
            on_s3, summary = saber_run(WORKFLOW, sweep, f"s3{r}", tmp, s3_env, workers=2,
                                       extra=("--no-cache", "--storage", f"s3://{bucket}/p10"))
            expected = f"{(args.mib << 20) + 1} "
            got = Path(summary["points"][0]["outputs"]["summary"]["path"]).read_text()
            assert got.startswith(expected), got
            walls["local"].append(local)
            walls["s3"].append(on_s3)
            ratios.append(on_s3 / local)
            print(f"{r:>5} {local:>10.2f} {on_s3:>8.2f} {on_s3 / local:>6.2f}", flush=True)
            time.sleep(0.5)
    print(f"median: local {statistics.median(walls['local']):.2f} s, S3 {statistics.median(walls['s3']):.2f} s, "
          f"ratio {statistics.median(ratios):.2f} (goal <= 1.3); load {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
