"""Where one call's time goes: `saber run`, `saber-cwl-runner` and cwltool on one Docker step.

    PYTHONPATH=. .venv/bin/python bench/p2_breakdown.py [--repeat 3]   # ~2-3 min on 2 cores

The step is a `python3 -c` in saber/blobs:0.1.0 that writes a small file (no NetworkAccess:
`docker run --net=none`). Measured, each a subprocess:
- `saber run wf.cwl --job job.yml --no-cache`: a one-step workflow around the tool, warm (a
  first, untimed run creates the throw-away SABER_HOME's database; the timed ones reuse it; the
  step cache off, or the same job would start no container);
- `saber-cwl-runner --outdir=D --quiet tool.cwl job.yml`, as cwltest calls it (a first, untimed
  call migrates the template database under $SABER_HOME/cache);
- `cwltool --outdir=D --quiet` on the tool, and on the workflow (what `saber run` compares with).
Both saber commands are timed twice: as users call them (through the home's warm server, started
by the untimed first call: saber/cli/_warm.py) and "cold" with SABER_WARM=0 (every call imports
Airflow itself), so the table holds the before and after of the server in one run.
One untimed call of each first, then `--repeat` rounds, the tools interleaved in each; every
figure is the median over the rounds.

Two sources of times, both against the benchmark's clock at launch (t=0):
- a `docker` shim first on PATH logs when each `docker run` was invoked and when the real docker
  exited: "before / in / after the container", measured the same way for all four. The shim is
  seen by the Airflow task processes too: they inherit the environment, PATH included;
- saber's own phase marks (`SABER_PHASES`, `saber/_phases.py`), from the main process, the
  forked compile child, the worker and the task process. Each row is the time from the previous
  mark in the chain below to the mark that ends the phase.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import stop_warm_servers

IMAGE = "saber/blobs:0.1.0"
PY = sys.executable
CWLTOOL = str(Path(PY).with_name("cwltool"))
RUNNER = Path(PY).with_name("saber-cwl-runner")

TOOL = f"""\
cwlVersion: v1.2
class: CommandLineTool
requirements:
  DockerRequirement: {{dockerPull: "{IMAGE}"}}
baseCommand: [python3, -c]
arguments:
  - position: 0
    valueFrom: "import sys; open('out.txt', 'w').write(sys.argv[1] + chr(10))"
inputs:
  tag: {{type: string, inputBinding: {{position: 1}}}}
outputs:
  out: {{type: File, outputBinding: {{glob: out.txt}}}}
"""

WORKFLOW = """\
cwlVersion: v1.2
class: Workflow
inputs:
  tag: string
outputs:
  out: {type: File, outputSource: step/out}
steps:
  step: {run: tool.cwl, in: {tag: tag}, out: [out]}
"""

# Logs `docker run` only (saber's and cwltool's image checks pass straight through): invoked
# and exited, epoch seconds from bash's own clock (no fork of `date`), and its arguments.
SHIM = """\
#!/bin/bash
if [ "$1" = run ]; then
  start=$EPOCHREALTIME
  {docker} "$@"
  rc=$?
  printf '%s %s %s\\n' "$start" "$EPOCHREALTIME" "$*" >> "$BENCH_DOCKER_LOG"
  exit $rc
fi
exec {docker} "$@"
"""

# (row, the mark that ends it, the marks it starts from: the latest of them); "launch" and
# "exited" are the benchmark's own clock around the process.
CHAIN = [
    ("exec: fork + exec of the process (kernel start time, 10 ms ticks)", "exec", ("launch",)),
    ("imports: Python, saber.cli, arguments parsed", "imports", ("exec",)),
    ("schema: saber.runs imported, cwltool's CWL schema parsed", "schema", ("imports",)),
    ("  compile (forked child): load, validate, plan", "compile", ("schema",)),
    ("  airflow import (thread): home activated, Airflow imported", "airflow import", ("schema",)),
    ("boot: both joined, plan back in the parent", "boot", ("compile", "airflow import")),
    ("docker check: daemon, images, GPUs (saber run: + lease)", "docker check", ("boot",)),
    ("database: migrated / template copied / checked", "database", ("docker check",)),
    ("dag file: tools preloaded, DAG file written", "dag file", ("database",)),
    ("dag sync: DAG parsed and written to Airflow's DB", "dag sync", ("dag file",)),
    ("execution api: in-process Execution API built", "execution api", ("dag sync",)),
    ("schedule: DAG run created, task queued", "schedule", ("execution api",)),
    ("worker start: pool forked, worker initialised", "worker start", ("schedule",)),
    ("task start: supervisor + task process up, operator runs", "task start", ("worker start",)),
    ("job setup: inputs, cwltool job up to `docker run`", "job setup", ("task start",)),
    ("container: `docker run` (saber's mark)", "container", ("job setup",)),
    ("task outputs: cwltool collects outputs, XComs", "task outputs", ("container",)),
    ("run done: task exits, run state seen by the parent", "run done", ("task outputs",)),
    ("outputs: relocated / exported to the outdir", "outputs", ("run done",)),
    ("close: workers and sessions shut down", "close", ("outputs",)),
    ("main: summary / output object printed, home removed", "main", ("close",)),
    ("exit: interpreter teardown", "exited", ("main",)),
]


def call(cmd: list[str], env: dict, log: Path, phases: Path, docker_log: Path) -> dict:
    """Run ``cmd``; its wall, the shim's `docker run` times and saber's marks, all from launch."""
    for f in (phases, docker_log):
        f.unlink(missing_ok=True)
    env = {**env, "SABER_PHASES": str(phases), "BENCH_DOCKER_LOG": str(docker_log)}
    launch = time.time()
    with open(log, "w") as out:
        res = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=600)
    exited = time.time()
    if res.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({res.returncode}):\n{log.read_text()[-3000:]}")
    runs = [line.split(" ", 2) for line in docker_log.read_text().splitlines()] if docker_log.exists() else []
    if len(runs) != 1 or "--net=none" not in runs[0][2]:
        sys.exit(f"{' '.join(cmd)}: expected one `docker run --net=none`, the shim saw {runs}")
    marks = {"launch": 0.0, "exited": exited - launch}
    if phases.exists():
        for line in phases.read_text().splitlines():
            rec = json.loads(line)
            marks.setdefault(rec["phase"], rec["t"] - launch)  # the first of a repeated mark
    start, end = float(runs[0][0]) - launch, float(runs[0][1]) - launch
    return {"wall": exited - launch, "before": start, "in": end - start, "after": exited - launch - end,
            "marks": marks}


def chain(marks: dict[str, float]) -> dict[str, float]:
    """Each CHAIN row's seconds, where its marks are there."""
    rows = {}
    for row, end, starts in CHAIN:
        if end in marks and all(s in marks for s in starts):
            rows[row] = marks[end] - max(marks[s] for s in starts)
    return rows


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    load_start = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="saber-bench-breakdown-"))
    (tmp / "tool.cwl").write_text(TOOL)
    (tmp / "wf.cwl").write_text(WORKFLOW)
    (tmp / "job.yml").write_text("tag: bench\n")
    real_docker = shutil.which("docker")
    if real_docker is None:
        sys.exit("no docker on PATH")
    shim = tmp / "bin" / "docker"
    shim.parent.mkdir()
    shim.write_text(SHIM.format(docker=real_docker))
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.pop("SABER_STORAGE", None)
    env.update(SABER_HOME=str(tmp / "home"), TMPDIR=str(tmp), PATH=f"{shim.parent}:{env.get('PATH', '')}")
    runner = [str(RUNNER)] if RUNNER.exists() else [PY, "-m", "saber", "cwl-runner"]
    tool, wf, job = str(tmp / "tool.cwl"), str(tmp / "wf.cwl"), str(tmp / "job.yml")

    cold = {**env, "SABER_WARM": "0"}  # every call in its own process, as before the warm server

    def commands(i: int) -> dict[str, tuple[list[str], dict]]:
        out = tmp / f"out{i}"
        run = [PY, "-m", "saber", "run", wf, "--job", job, "--no-cache", "--outdir"]
        return {
            "saber run (cold)": ([*run, str(out / "saber-cold")], cold),
            "saber run": ([*run, str(out / "saber")], env),
            "saber-cwl-runner (cold)": ([*runner, f"--outdir={out / 'runner-cold'}", "--quiet", tool, job], cold),
            "saber-cwl-runner": ([*runner, f"--outdir={out / 'runner'}", "--quiet", tool, job], env),
            "cwltool (tool)": ([CWLTOOL, f"--outdir={out / 'cwltool'}", "--quiet", tool, job], env),
            "cwltool (workflow)": ([CWLTOOL, f"--outdir={out / 'cwltool-wf'}", "--quiet", wf, job], env),
        }

    results: dict[str, list[dict]] = {name: [] for name in commands(0)}
    try:
        for i in range(args.repeat + 1):  # round 0: warm-up (and the warm servers' start), not counted
            for name, (cmd, cmd_env) in commands(i).items():
                tag = name.replace(" ", "").replace("(", "-").replace(")", "")
                got = call(cmd, cmd_env, tmp / f"{tag}{i}.log", tmp / f"{tag}{i}.phases.jsonl",
                           tmp / f"{tag}{i}.docker")
                if i:
                    results[name].append(got)
    finally:
        stop_warm_servers(tmp / "home")
    load_end = os.getloadavg()

    names = list(results)
    print(f"One call, one Docker step ({IMAGE}, `python3 -c` writing a file, --net=none); "
          f"{os.cpu_count()} cores; median of {args.repeat} warm calls, seconds")
    print(f"load average (1, 5, 15 min) at start {', '.join(f'{x:.2f}' for x in load_start)}; "
          f"at end {', '.join(f'{x:.2f}' for x in load_end)}")
    print()
    print("| phase | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    rows = [("before the container (launch -> `docker run` invoked)", "before"),
            ("in the container (`docker run` invoked -> exited)", "in"),
            ("after the container (-> process exited)", "after"), ("**total wall**", "wall")]
    for label, key in rows:
        print(f"| {label} | " + " | ".join(f"{median([r[key] for r in results[n]]):.2f}" for n in names) + " |")
    print(f"| *saber's own marks* |{' |' * len(names)}")
    per_call = {n: [chain(r["marks"]) for r in results[n]] for n in names}
    for row, _, _ in CHAIN:
        cells = []
        for n in names:
            m = median([c[row] for c in per_call[n] if row in c])
            cells.append("—" if m is None else f"{m:.2f}")
        print(f"| {row} | " + " | ".join(cells) + " |")
    wall = {n: median([r["wall"] for r in results[n]]) for n in names}
    print()
    print(f"ratios of the total wall: saber run / cwltool (workflow) = "
          f"{wall['saber run'] / wall['cwltool (workflow)']:.2f} (cold "
          f"{wall['saber run (cold)'] / wall['cwltool (workflow)']:.2f}), saber-cwl-runner / cwltool (tool) = "
          f"{wall['saber-cwl-runner'] / wall['cwltool (tool)']:.2f} (cold "
          f"{wall['saber-cwl-runner (cold)'] / wall['cwltool (tool)']:.2f}); warm / cold: saber run "
          f"{wall['saber run'] / wall['saber run (cold)']:.2f}, saber-cwl-runner "
          f"{wall['saber-cwl-runner'] / wall['saber-cwl-runner (cold)']:.2f}")
    print(f"(throw-away SABER_HOME, logs, marks and the shim's logs kept in {tmp})")
    print(f"RESULT p2_breakdown: saber_run={wall['saber run']:.2f}s runner={wall['saber-cwl-runner']:.2f}s "
          f"cwltool={wall['cwltool (tool)']:.2f}s ratio_runner={wall['saber-cwl-runner'] / wall['cwltool (tool)']:.2f}")


if __name__ == "__main__":
    main()
