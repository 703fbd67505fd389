"""Faults injected into real runs (real Docker, the embedded Airflow): a `saber run` killed
outright, two drivers on one study, two first runs on a fresh home. Each must end with nothing
left behind and nothing lost or run twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from saber_testing import DATA, ROOT, needs_docker, run_saber, saber_sleeping, sleepers, yaml_writer

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow]

SLOW = DATA / "cwl" / "slow_score_wf.cwl"


def _fault_containers() -> int:
    ps = subprocess.run(["docker", "ps", "--no-trunc", "--format", "{{.Command}}"], capture_output=True, text=True)
    return ps.stdout.count("saber-fault-test")


def _processes_running(needle: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
            except OSError:
                continue
            if needle in cmdline and state != "Z":
                found.append(int(entry.name))
    return found


def _until(check, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return check()


def _trials(study: str) -> list[tuple[str, float]]:
    from saber.scores import results_url

    return [(t.state.name, t.user_attrs.get("saber_params", {}).get("x"))
            for t in optuna.load_study(study_name=study, storage=results_url()).trials]


def _trials_named(study: str) -> list[str]:
    try:
        return [state for state, _ in _trials(study)]
    except KeyError:  # the study is not created yet
        return []


def test_sigkill_mid_study_leaves_nothing_and_resume_runs_each_point_once(saber_home, tmp_path):
    study = "fault-sigkill"
    sweep = yaml_writer(tmp_path, "sweep.yml")("x: [0.1, 0.2, 0.3, 0.4]\nsampler: {method: grid, batch_size: 1}\n")
    job = yaml_writer(tmp_path, "job.yml")("slow_from: 0.3\n")  # the third trial hangs
    proc = subprocess.Popen([sys.executable, "-m", "saber", "run", str(SLOW), str(sweep), "--job", str(job),
                             "--study", study, "--outdir", str(tmp_path / "first")], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Two trials done, the third's container running (the fast ones' containers are gone).
    assert _until(lambda: _trials_named(study)[:3] == ["COMPLETE", "COMPLETE", "RUNNING"]
                  and _fault_containers() == 1, 180), "the slow trial never started"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed = time.monotonic()
    # Within 10 s: no container, no worker or task process of the dead run.
    assert _until(lambda: _fault_containers() == 0 and not _processes_running(str(SLOW)), 10), \
        (_fault_containers(), _processes_running(str(SLOW)))
    assert time.monotonic() - killed < 10
    # The reaper failed the dead run's DAG run and its trial (no scheduler may finish it later).
    assert _until(lambda: _trials(study)[2][0] == "FAIL", 60), _trials(study)
    from airflow import settings
    from airflow.models.dagrun import DagRun

    session = settings.Session()
    try:
        assert str(session.query(DagRun).filter_by(run_id=f"{study}_t0002").one().state) == "failed"
    finally:
        session.close()
    # The resume runs what is left, each point once.
    again = run_saber("run", str(SLOW), str(sweep), "--study", study, "--outdir", str(tmp_path / "second"))
    assert again.returncode == 0, again.stderr
    done = sorted(x for state, x in _trials(study) if state == "COMPLETE")
    assert done == [0.1, 0.2, 0.3, 0.4]
    assert [s for s, _ in _trials(study)].count("FAIL") == 1
    # The killed trial's finished step was not run again: the step cache gave its outputs.
    points = {p["params"]["x"]: p for p in json.loads((tmp_path / "second" / "summary.json").read_text())["points"]}
    assert points[0.3]["cached_steps"] == ["prep"] and points[0.4]["cached_steps"] == []


def test_a_second_driver_of_one_study_is_refused(saber_home, tmp_path):
    first = saber_sleeping("--study", "fault-busy", "--outdir", str(tmp_path / "first"))
    try:
        second = run_saber("run", str(DATA / "cwl" / "sleep.cwl"), "--study", "fault-busy",
                           "--outdir", str(tmp_path / "second"), timeout=120)
        assert second.returncode == 2, second.stderr
        assert f"study 'fault-busy' is being run by another saber run (pid {first.pid} on" in second.stderr
        assert "Traceback" not in second.stderr and sleepers() == 1
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    assert first.returncode == 143 and _until(lambda: sleepers() == 0, 10)
    assert not _processes_running(str(DATA / "cwl" / "sleep.cwl"))


def test_two_first_runs_at_once_on_a_fresh_home(tmp_path):
    home = tmp_path / "fresh-home"
    env = {**os.environ, "SABER_HOME": str(home)}
    for key in ("SABER_DB", "SABER_STORAGE", "_SABER_ACTIVE", "AIRFLOW_HOME"):
        env.pop(key, None)
    env = {k: v for k, v in env.items() if not k.startswith("AIRFLOW__")}
    procs = []
    for name in ("a", "b"):
        sweep = yaml_writer(tmp_path, f"{name}.yml")("x: [0.2, 0.6]\nsampler: {method: grid}\n")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "saber", "run", str(DATA / "cwl" / "quadratic.cwl"), str(sweep),
             "--study", f"fresh-{name}", "--outdir", str(tmp_path / name)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [p.communicate(timeout=400)[0] for p in procs]
    for proc, output in zip(procs, outputs):
        assert proc.returncode == 0, output
        assert "Traceback" not in output and "database is locked" not in output
    for name in ("a", "b"):

        points = json.loads((tmp_path / name / "summary.json").read_text())["points"]
        assert sorted(p["params"]["x"] for p in points) == [0.2, 0.6]
        assert all(p["dag_run_id"].startswith(f"fresh-{name}_") for p in points)


def _writer_container() -> str | None:
    ps = subprocess.run(["docker", "ps", "--no-trunc", "--format", "{{.ID}} {{.Command}}"],
                        capture_output=True, text=True)
    return next((line.split()[0] for line in ps.stdout.splitlines() if "saber-fault-writer" in line), None)


@pytest.mark.parametrize("how", ["docker-kill", "kill-the-process"])
def test_a_killed_step_is_tried_again_and_no_half_output_is_read(saber_home, tmp_path, how):
    """`docker kill` of a step's container, or SIGKILL of the container's own process (as the
    OOM killer does) while it writes a large output: the step is tried once more, from an
    emptied folder, and the next step reads only the whole file."""
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "saber", "run", str(DATA / "cwl" / "slow_write_wf.cwl"),
                             "--outdir", str(out), "--study", f"fault-{how}-{time.time_ns()}", "--no-cache"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert _until(lambda: _writer_container() is not None, 120), "the writer never started"
    time.sleep(1.5)  # part of the file is written
    container = _writer_container()
    if how == "docker-kill":
        subprocess.run(["docker", "kill", container], check=True, capture_output=True)
    else:
        pid = subprocess.run(["docker", "inspect", "--format", "{{.State.Pid}}", container],
                             capture_output=True, text=True, check=True).stdout.strip()
        os.kill(int(pid), signal.SIGKILL)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output
    summary = json.loads((out / "summary.json").read_text())
    [point] = summary["points"]
    report = Path(point["outputs"]["report"]["location"].removeprefix("file://"))
    assert report.read_text() == f"whole: {64 * (1 << 20) + 3} bytes\n"
    from saber.backends.embedded._compat import base_log_folder

    log = next(base_log_folder().glob(f"dag_id={summary['dag_id']}/run_id={point['dag_run_id']}/task_id=write/attempt=*.log"))
    assert "infrastructure failure (exit code 137); try 2 of 2" in log.read_text()
    # One try's outputs in the step's folder: the killed try left nothing beside them.
    from saber.home import storage_root

    files = sorted(p.name for p in (storage_root() / summary["dag_id"] / point["dag_run_id"] / "write").rglob("*")
                   if p.is_file())
    assert files == ["big.bin"]
