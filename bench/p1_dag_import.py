"""P1: import time of the DAG file saber writes for a 100-step workflow (goal: < 50 ms over a
trivial 1-task DAG), and that the DAG/plan do not grow with the sweep.

    /opt/saber-venv/bin/python bench/p1_dag_import.py [--steps 100] [--repeat 7] [--shape chain|fan]

Each measurement is a fresh subprocess with SABER_HOME/AIRFLOW_HOME set like saber.backends.embedded.activate():
it imports ``airflow.sdk`` first (untimed), then times executing the DAG file as a module.
Baseline: the same subprocess executing a trivial hand-written 1-task DAG file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

GOAL_MS = 50.0

TOOL = """\
cwlVersion: v1.2
class: CommandLineTool
requirements:
  DockerRequirement: {dockerPull: "saber/blobs:0.1.0"}
baseCommand: [python3, -c, "import sys; print(sys.argv[1:])"]
inputs:
  n: {type: int, default: 0, inputBinding: {position: 1}}
  upstream: {type: File?, inputBinding: {position: 2}}
outputs:
  out: stdout
stdout: out.txt
"""

TRIVIAL_DAG = """\
from airflow.sdk import DAG, BaseOperator


class Noop(BaseOperator):
    def execute(self, context):
        return None


with DAG(dag_id="trivial_one_task", schedule=None, tags=["bench"]) as dag:
    Noop(task_id="only")
"""

# Runs in the child: env already points at the throw-away home.
CHILD = textwrap.dedent("""\
    import importlib.util, json, sys, time
    t0 = time.perf_counter()
    # Both sides pay this, untimed. airflow.sdk's names are lazy: resolve the ones DAG files use.
    from airflow.sdk import DAG, BaseOperator, Param, TaskGroup  # noqa: F401
    {preimport}
    t1, c1 = time.perf_counter(), time.process_time()
    spec = importlib.util.spec_from_file_location("bench_dag_module", sys.argv[1])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    t2, c2 = time.perf_counter(), time.process_time()
    n = len(mod.dag.tasks)
    print(json.dumps({{"pre_s": t1 - t0, "exec_s": t2 - t1, "cpu_s": c2 - c1, "tasks": n}}))
""")


def workflow(steps: int, shape: str) -> str:
    lines = ["cwlVersion: v1.2", "class: Workflow", "inputs:", "  n: int", "outputs:"]
    last = [f"s{steps - 1:03d}"] if shape == "chain" else [f"s{i:03d}" for i in range(steps)]
    for name in last[:3]:
        lines.append(f"  out_{name}: {{type: File, outputSource: {name}/out}}")
    lines.append("steps:")
    for i in range(steps):
        lines += [f"  s{i:03d}:", "    run: tool.cwl", "    in:", "      n: n"]
        if shape == "chain" and i:
            lines.append(f"      upstream: s{i - 1:03d}/out")
        lines.append("    out: [out]")
    return "\n".join(lines) + "\n"


def home_env(root: Path) -> dict[str, str]:
    from saber.backends.embedded import airflow_env
    from saber.home import SaberHome

    env = os.environ.copy()
    for k in list(env):
        if k.startswith("AIRFLOW__"):
            env.pop(k)
    env.update(airflow_env(SaberHome(root)))
    env["_SABER_ACTIVE"] = str(root)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    for sub in ("airflow", "dags", "storage"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return env


def import_once(dag_file: Path, env: dict, preimport: str = "") -> dict:
    """One fresh subprocess: exec time and CPU time (ms) of ``dag_file``, process wall, task count."""
    t = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", CHILD.format(preimport=preimport), str(dag_file)], env=env,
                         capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - t
    if res.returncode != 0:
        sys.exit(f"import of {dag_file} failed:\n{res.stderr[-3000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    return {"exec": out["exec_s"] * 1000, "cpu": out["cpu_s"] * 1000, "wall": wall * 1000, "tasks": out["tasks"]}


def time_variants(variants: dict[str, tuple], env: dict, repeat: int) -> dict[str, dict]:
    """Interleaved rounds (every variant once per round) so machine noise hits all alike;
    one untimed warm-up round first (page cache, .pyc)."""
    samples: dict[str, list[dict]] = {name: [] for name in variants}
    for rnd in range(repeat + 1):
        for name, (dag_file, pre) in variants.items():
            s = import_once(dag_file, env, pre)
            if rnd:
                samples[name].append(s)
    return {name: {"exec": statistics.median(x["exec"] for x in xs), "min": min(x["exec"] for x in xs),
                   "cpu": statistics.median(x["cpu"] for x in xs), "wall": statistics.median(x["wall"] for x in xs),
                   "tasks": xs[0]["tasks"]} for name, xs in samples.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--shape", choices=["chain", "fan"], default="chain")
    args = ap.parse_args()

    from saber.runs import RunSpec, compile_workflow, prepare_points

    tmp = Path(tempfile.mkdtemp(prefix="saber-bench-p1-"))
    wf_dir = tmp / "wf"
    wf_dir.mkdir()
    (wf_dir / "tool.cwl").write_text(TOOL)
    wf = wf_dir / f"bench{args.steps}.cwl"
    wf.write_text(workflow(args.steps, args.shape))
    one = wf_dir / "bench1.cwl"
    one.write_text(workflow(1, "chain"))

    home = tmp / "home"
    env = home_env(home)
    # write_dag_file imports saber.airflow (and so airflow): do it in a child with the home's env.
    os.environ.update({k: v for k, v in env.items() if k.startswith(("AIRFLOW", "SABER", "_SABER"))})

    t = time.perf_counter()
    plan = compile_workflow(wf)
    compile_s = time.perf_counter() - t
    plan1 = compile_workflow(one)

    from saber.airflow import write_dag_file

    dags = home / "dags"
    trivial = dags / "trivial_one_task.py"
    trivial.write_text(TRIVIAL_DAG)

    # "Flat in sweep size": expand a 1-point and a 100-point sweep against the plan and write the
    # DAG after each. The sweep becomes DAG-run confs only, never part of the DAG file or plan.
    hashes = {}
    variants: dict[str, tuple] = {"baseline: trivial 1-task DAG": (trivial, "")}
    for npoints in (1, 100):
        sweep = wf_dir / f"sweep{npoints}.yml"
        sweep.write_text(f"n: {{range: {{start: 0, stop: {npoints}, step: 1}}}}\n")
        prepared = prepare_points(plan, RunSpec(workflow=wf, sweep=sweep), f"bench{npoints}")
        assert len(prepared) == npoints, len(prepared)
        dag_file = write_dag_file(plan, dags)
        plan_file = dag_file.with_name(f"{plan['dag_id']}.plan.json")
        hashes[npoints] = (hashlib.sha256(dag_file.read_bytes() + plan_file.read_bytes()).hexdigest(),
                           plan_file.stat().st_size, dag_file.stat().st_size,
                           sum(len(json.dumps(r.conf)) for _, r in prepared))
        # keep a copy per sweep size, so both are timed (interleaved) from their own files
        copy = dags / f"after_sweep_{npoints}" / dag_file.name
        copy.parent.mkdir(exist_ok=True)
        copy.write_bytes(dag_file.read_bytes())
        copy.with_name(plan_file.name).write_bytes(plan_file.read_bytes())
        variants[f"saber {args.steps}-step {args.shape} (after {npoints}-pt sweep)"] = (copy, "")
    dag1 = write_dag_file(plan1, dags)
    variants["saber 1-step DAG"] = (dag1, "")
    variants[f"saber {args.steps}-step, saber.airflow pre-imported"] = (
        dags / f"{plan['dag_id']}.py", "import saber.airflow  # noqa: F401")
    res = time_variants(variants, env, args.repeat)
    base = res["baseline: trivial 1-task DAG"]

    print(f"P1 DAG-file import: median of {args.repeat} fresh subprocesses per row, rounds interleaved "
          f"(python {sys.version.split()[0]}; airflow.sdk DAG/BaseOperator/Param/TaskGroup imported untimed)")
    print(f"{'DAG file':<50} {'exec ms':>8} {'-base':>7} {'min ms':>7} {'cpu ms':>7} {'-base':>7} "
          f"{'proc wall':>9} {'tasks':>5}")
    for name, r in res.items():
        print(f"{name:<50} {r['exec']:8.1f} {r['exec'] - base['exec']:7.1f} {r['min']:7.1f} {r['cpu']:7.1f} "
              f"{r['cpu'] - base['cpu']:7.1f} {r['wall']:8.0f}ms {r['tasks']:5d}")
    print(f"compile_workflow({args.steps} steps): {compile_s:.2f} s (done once by saber run/dag; not part of import)")
    h1, h100 = hashes[1], hashes[100]
    print(f"plan JSON: {h1[1]:,} B after 1-point sweep, {h100[1]:,} B after 100-point sweep; "
          f"DAG file {h1[2]:,} B / {h100[2]:,} B; identical bytes: {h1[0] == h100[0]}")
    print(f"(the sweep lives only in the DAG-run confs: {h1[3]:,} B for 1 point, {h100[3]:,} B for 100)")
    hundred = statistics.mean([r["exec"] for name, r in res.items() if "sweep)" in name]) - base["exec"]
    print(f"(throw-away SABER_HOME, workflow and logs kept in {tmp})")
    print(f"RESULT p1_dag_import: ratio={hundred / GOAL_MS:.2f} (goal <= 1.00: {args.steps}-step DAG import "
          f"{hundred:.1f} ms over baseline, goal < {GOAL_MS:.0f} ms; flat in sweep size: "
          f"{'yes' if h1[0] == h100[0] else 'NO'})")


if __name__ == "__main__":
    main()
