"""`saber dag --executor`: a KubernetesExecutor pod_override and AWS Batch submit_job overrides per
task, checked offline against the kubernetes client's models and botocore's parameter validation."""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from saber.errors import InputError

CWL = Path(__file__).resolve().parents[1] / "data" / "cwl"
WORKFLOW = CWL / "executors_wf.cwl"  # cpu: coresMin 2, ramMin 1024; gpu: 0.5 cores, 3000.5 MiB, 2 GPUs
PlanOf = Callable[[Path], dict]  # the plan_of fixture (tests/unit/conftest.py)
_counter = itertools.count()


def step(plan: dict, task_id: str) -> dict:
    return next(s for s in plan["steps"] if s["task_id"] == task_id)


def import_dag(plan: dict, folder: Path, executor: str):
    """Write the DAG file for ``executor`` and import it, as a DAG processor would."""
    from saber.airflow import write_dag_file

    dag_file = write_dag_file(plan, folder, executor=executor)
    spec = importlib.util.spec_from_file_location(f"saber_executors_dag_{next(_counter)}", dag_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


# -- Kubernetes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("task, resources", [
    pytest.param("cpu", {"requests": {"cpu": "2", "memory": "1024Mi"}}, id="cpu"),
    pytest.param("gpu", {"requests": {"cpu": "500m", "memory": "3001Mi", "nvidia.com/gpu": "2"},
                         "limits": {"nvidia.com/gpu": "2"}}, id="gpu"),
])
def test_pod_override(plan_of: PlanOf, task: str, resources: dict) -> None:
    from kubernetes.client import ApiClient, models as k8s

    from saber.airflow._executors import check_pod, pod_override

    pod = pod_override(step(plan_of(WORKFLOW), task))
    assert isinstance(pod, k8s.V1Pod)
    assert ApiClient().sanitize_for_serialization(pod) == {
        "spec": {"containers": [{"name": "base", "resources": resources}]}}
    check_pod(pod)  # quantities parse; the pod survives its JSON form


def test_pod_override_rejects_a_bad_quantity(plan_of: PlanOf) -> None:
    from saber.airflow._executors import check_pod, pod_override

    pod = pod_override(step(plan_of(WORKFLOW), "cpu"))
    pod.spec.containers[0].resources.requests["memory"] = "1024 MiB"
    with pytest.raises(InputError, match="memory '1024 MiB' is not a Kubernetes quantity"):
        check_pod(pod)


def test_kubernetes_tasks(plan_of: PlanOf, tmp_path: Path) -> None:
    from airflow.serialization.serialized_objects import DagSerialization
    from kubernetes.client import models as k8s

    plan = plan_of(WORKFLOW)
    dag = import_dag(plan, tmp_path, "kubernetes")
    for task in dag.tasks:
        assert task.executor == "KubernetesExecutor"
        assert set(task.executor_config) == {"saber", "pod_override"}
        assert task.executor_config["saber"] == step(plan, task.task_id)["resources"]  # the embedded runner's
        assert isinstance(task.executor_config["pod_override"], k8s.V1Pod)
    # What the DAG processor stores and the scheduler hands the executor: Airflow encodes a V1Pod
    # in executor_config as its own type and rebuilds it.
    stored = json.loads(json.dumps(DagSerialization.to_dict(dag)))
    again = DagSerialization.from_dict(stored)
    for task in dag.tasks:
        assert again.get_task(task.task_id).executor_config == task.executor_config


def test_mapped_task_gets_its_pod(plan_of: PlanOf, tmp_path: Path) -> None:
    dag = import_dag(plan_of(CWL / "scatter_wf.cwl"), tmp_path, "kubernetes")
    requests = dag.get_task("shout").executor_config["pod_override"].spec.containers[0].resources.requests
    assert requests == {"cpu": "1", "memory": "128Mi"}
    assert dag.get_task("shout__scatter").executor is None  # a helper: no container, the default executor


_FRESH_IMPORT = """
import importlib.util, sys
for path in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location("dagmod", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for t in sorted(module.dag.tasks, key=lambda t: t.task_id):
        print(t.task_id, t.executor, sorted(t.executor_config))
print([m for m in sys.modules if m.startswith(("cwltool", "airflow.providers.cncf", "airflow.providers.amazon"))])
"""


def test_dag_files_import_without_providers(plan_of: PlanOf, tmp_path: Path) -> None:
    from saber.airflow import write_dag_file

    files = [str(write_dag_file(plan_of(WORKFLOW), tmp_path / executor, executor=executor))
             for executor in ("kubernetes", "aws-batch")]
    out = subprocess.run([sys.executable, "-c", _FRESH_IMPORT, *files], capture_output=True, text=True,
                         env=dict(os.environ), timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "cpu KubernetesExecutor ['pod_override', 'saber']", "gpu KubernetesExecutor ['pod_override', 'saber']",
        "cpu AwsBatchExecutor ['containerOverrides']", "gpu AwsBatchExecutor ['containerOverrides']", "[]"]


# -- AWS Batch ----------------------------------------------------------------------------------

@pytest.mark.parametrize("task, needs", [
    pytest.param("cpu", [{"type": "VCPU", "value": "2"}, {"type": "MEMORY", "value": "1024"}], id="cpu"),
    pytest.param("gpu", [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "3001"},
                         {"type": "GPU", "value": "2"}], id="gpu"),
])
def test_batch_overrides(plan_of: PlanOf, tmp_path: Path, task: str, needs: list) -> None:
    from saber.airflow._executors import check_batch

    dag = import_dag(plan_of(WORKFLOW), tmp_path, "aws-batch")
    op = dag.get_task(task)
    # The whole executor_config becomes submit_job arguments, so nothing else may be in it.
    assert op.executor == "AwsBatchExecutor"
    assert op.executor_config == {"containerOverrides": {"resourceRequirements": needs}}
    check_batch(op.executor_config)


@pytest.mark.parametrize("config, message", [
    pytest.param({"containerOverrides": {"resourceRequirements": [{"type": "VCPU", "value": 2}]}},
                 r"Invalid type for parameter containerOverrides\.resourceRequirements\[0\]\.value", id="int-value"),
    pytest.param({"containerOverrides": {"resourceRequirements": [{"type": "VCPU", "value": "2"}]},
                  "saber": {"gpus": 0}}, r'Unknown parameter in input: "saber"', id="saber-key"),
    pytest.param({"containerOverrides": {"resourceRequirements": [{"kind": "GPU", "value": "1"}]}},
                 r"Missing required parameter in containerOverrides\.resourceRequirements\[0\]: \"type\"",
                 id="missing-type"),
])
def test_botocore_rejects_wrong_overrides(config: dict, message: str) -> None:
    from saber.airflow._executors import check_batch

    with pytest.raises(InputError, match=r"^step 'x': AWS Batch submit_job overrides: .*" + message):
        check_batch(config, step="x")


# -- what neither executor can size --------------------------------------------------------------

@pytest.mark.parametrize("executor", ["kubernetes", "aws-batch"])
@pytest.mark.parametrize("change, message", [
    pytest.param(lambda s: s["resources"].update(gpus=1.5), "step 'gpu': GPUs must be a whole number, got 1.5",
                 id="fractional-gpus"),
    pytest.param(lambda s: s["resources"]["cuda"].update(cudaDeviceCountMin="$(inputs.n)"),
                 r"step 'gpu': cudaDeviceCountMin is an expression \(\$\(inputs.n\)\)", id="gpu-expression"),
    pytest.param(lambda s: s["requirements"][0].update(ramMin="$(inputs.mb)"),
                 r"step 'gpu': ramMin is an expression", id="ram-expression"),
])
def test_unsizable_step_is_refused(plan_of: PlanOf, tmp_path: Path, executor: str, change, message: str) -> None:
    from saber.airflow import write_dag_file

    plan = plan_of(WORKFLOW)
    assert step(plan, "gpu")["requirements"][0]["class"] == "ResourceRequirement"
    change(step(plan, "gpu"))
    with pytest.raises(InputError, match=message):
        write_dag_file(plan, tmp_path, executor=executor)
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []
    write_dag_file(plan, tmp_path)  # the default executor sizes nothing ahead: unchanged


# -- the command -----------------------------------------------------------------------------------

def test_saber_dag_executor(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from saber.cli import main

    assert main(["dag", str(WORKFLOW), "-o", str(tmp_path), "--executor", "kubernetes"]) == 0
    dag_file = Path(capsys.readouterr().out.split()[0])
    assert dag_file.read_text().splitlines()[-1].endswith(", executor='kubernetes')")


def test_saber_dag_refuses_gpu_expression(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from saber.cli import main

    tool = tmp_path / "gpus.cwl"
    text = (CWL / "gpu_one.cwl").read_text()
    tool.write_text(text.replace("cudaDeviceCountMin: 1", 'cudaDeviceCountMin: "$(inputs.n)"')
                    .replace("inputs: []", "inputs:\n  n: {type: int, default: 1}"))
    assert main(["dag", str(tool), "-o", str(tmp_path / "dags"), "--executor", "aws-batch"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("saber: step 'gpus': cudaDeviceCountMin is an expression ($(inputs.n)), but --executor "
                   "aws-batch sizes the job before the step runs; give a number")
    assert not (tmp_path / "dags").exists()
