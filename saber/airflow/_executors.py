"""A task's ``executor_config`` for Airflow's KubernetesExecutor and AwsBatchExecutor, from the
resources the plan holds for its step (cores, RAM in MiB, GPUs).

Both executors size the pod or job once, when the task is queued, so a resource that a CWL
expression computes at run time cannot be honoured: ``saber dag`` refuses it. The kubernetes
client is imported only for ``kubernetes`` (the DAG file then needs it at parse time, as the
cncf provider does); botocore only where the Batch overrides are checked, never at parse time.
"""

from __future__ import annotations

import math
from typing import Any, Literal, get_args

from saber.errors import InputError

__all__ = ["EXECUTORS", "Executor", "batch_overrides", "check_batch", "check_executor", "check_pod",
           "executor_config", "pod_override", "task_executor"]

Executor = Literal["default", "kubernetes", "aws-batch"]
EXECUTORS: tuple[str, ...] = get_args(Executor)

# The name a task gives as `executor=`: Airflow 3 resolves it by alias or class name among the
# deployment's [core] executor list, so a multi-executor deployment routes these tasks to it.
_TASK_EXECUTOR = {"kubernetes": "KubernetesExecutor", "aws-batch": "AwsBatchExecutor"}
# Placeholders for what the deployment's [aws_batch_executor] section supplies to submit_job.
_SUBMIT_JOB_BASE = {"jobName": "saber-check", "jobQueue": "saber-check", "jobDefinition": "saber-check",
                    "containerOverrides": {"command": ["true"]}}


def task_executor(executor: Executor) -> str | None:
    """The ``executor=`` of every task (None: the deployment's default executor)."""
    return _TASK_EXECUTOR.get(executor)


def executor_config(step: dict, executor: Executor) -> dict:
    """A task's ``executor_config``. ``saber`` (what the embedded runner reads) stays except for
    AWS Batch, whose executor passes the whole dict to ``submit_job`` as keyword arguments."""
    res = step["resources"]
    if executor == "kubernetes":
        return {"saber": res, "pod_override": pod_override(step)}
    if executor == "aws-batch":
        return batch_overrides(step)
    return {"saber": res}


def pod_override(step: dict):
    """The ``V1Pod`` the KubernetesExecutor merges into its worker pod: requests on the container
    named ``base`` (the worker's), and GPUs as the extended resource ``nvidia.com/gpu``, which
    Kubernetes takes only as a limit (a request, if given, must equal it)."""
    from kubernetes.client import models as k8s

    cores, ram, gpus = _sizes(step, "kubernetes")
    requests = {"cpu": _cpu(cores), "memory": f"{math.ceil(ram)}Mi"}
    limits = {}
    if gpus:
        requests["nvidia.com/gpu"] = limits["nvidia.com/gpu"] = str(gpus)
    resources = k8s.V1ResourceRequirements(requests=requests, limits=limits or None)
    return k8s.V1Pod(spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="base", resources=resources)]))


def batch_overrides(step: dict) -> dict:
    """The part of ``submit_job``'s arguments the AwsBatchExecutor merges from ``executor_config``.
    Batch jobs on EC2 take whole vCPUs, so fractional cores round up (as pool slots do)."""
    cores, ram, gpus = _sizes(step, "aws-batch")
    needs = [{"type": "VCPU", "value": str(math.ceil(cores))}, {"type": "MEMORY", "value": str(math.ceil(ram))}]
    if gpus:
        needs.append({"type": "GPU", "value": str(gpus)})
    return {"containerOverrides": {"resourceRequirements": needs}}


def check_executor(plan: dict, executor: Executor) -> None:
    """Build and check every step's ``executor_config`` before a DAG file is written, so a step
    the executor cannot size fails ``saber dag``, not the deployment's DAG processor."""
    if executor not in EXECUTORS:
        raise InputError(f"unknown executor {executor!r} (known: {', '.join(EXECUTORS)})")
    for step in plan["steps"]:
        config = executor_config(step, executor)
        if executor == "kubernetes":
            check_pod(config["pod_override"])
        elif executor == "aws-batch":
            check_batch(config, step=step["task_id"])


def check_pod(pod) -> None:
    """What the API server would parse: every quantity, and the pod through the JSON Airflow
    stores for it and back (the models check types as they are built)."""
    from kubernetes.client import ApiClient, Configuration
    from kubernetes.client.models import V1Pod
    from kubernetes.utils import parse_quantity

    for container in pod.spec.containers:
        for quantities in (container.resources.requests or {}, container.resources.limits or {}):
            for name, quantity in quantities.items():
                try:
                    parse_quantity(quantity)
                except ValueError as e:
                    raise InputError(f"pod_override: {name} {quantity!r} is not a Kubernetes quantity") from e
    client = ApiClient(configuration=Configuration())
    # The client has no public dict -> model call; this private one is what Airflow's scheduler uses
    # (airflow.utils.sqlalchemy.deserialize_pod_dict) to read a stored pod_override.
    again = client._ApiClient__deserialize_model(client.sanitize_for_serialization(pod), V1Pod)
    if again != pod:
        raise InputError("pod_override does not survive its JSON form")


def check_batch(config: dict, *, step: str = "") -> None:
    """botocore's own validation of the ``submit_job`` call the executor makes with ``config``
    merged into placeholders for the deployment's job name, queue and job definition."""
    import botocore.session
    from botocore.exceptions import ParamValidationError
    from botocore.validate import validate_parameters

    shape = botocore.session.get_session().get_service_model("batch").operation_model("SubmitJob").input_shape
    try:
        validate_parameters(_merged(_SUBMIT_JOB_BASE, config), shape)
    except ParamValidationError as e:
        report = " ".join(str(e).split())
        raise InputError(f"{f'step {step!r}: ' if step else ''}AWS Batch submit_job overrides: {report}") from e


def _merged(base: dict, extra: dict) -> dict:
    """A recursive merge, as ``airflow.utils.helpers.merge_dicts`` does for the executor."""
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _sizes(step: dict, executor: str) -> tuple[float, float, int]:
    """(cores, RAM MiB, GPUs) of a step; refuses what an executor cannot size ahead of the run."""
    res, name = step["resources"], step["task_id"]
    rr = _declared(step, "ResourceRequirement")
    cuda = res.get("cuda") or {}
    for given, low, high in ((rr, "coresMin", "coresMax"), (rr, "ramMin", "ramMax"),
                             (cuda, "cudaDeviceCountMin", "cudaDeviceCount")):
        field = low if low in given else high  # the one the plan's number came from
        value = given.get(field)
        if isinstance(value, str):
            raise InputError(f"step {name!r}: {field} is an expression ({value}), but --executor {executor} "
                             f"sizes the {'pod' if executor == 'kubernetes' else 'job'} before the step runs; "
                             "give a number")
    cores, ram, gpus = res["cores"], res["ram_mb"], res["gpus"]
    if not (_positive(cores) and _positive(ram)):
        raise InputError(f"step {name!r}: cores ({cores!r}) and ram_mb ({ram!r}) must be positive numbers")
    if isinstance(gpus, bool) or not isinstance(gpus, (int, float)) or gpus < 0 or gpus != int(gpus):
        raise InputError(f"step {name!r}: GPUs must be a whole number, got {gpus!r}")
    return float(cores), float(ram), int(gpus)


def _declared(step: dict, cls: str) -> dict[str, Any]:
    """The step's requirement (else hint) of class ``cls``, as written: the tool's own wins, as
    the plan lists inherited ones first."""
    for items in (step.get("requirements") or [], step.get("hints") or []):
        found = next((r for r in reversed(items) if r.get("class") in (cls, cls.rsplit("#", 1)[-1])), None)
        if found:
            return found
    return {}


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _cpu(cores: float) -> str:
    """Kubernetes CPU quantity: whole cores as such, fractions in millicores (its finest unit)."""
    return str(int(cores)) if cores == int(cores) else f"{math.ceil(cores * 1000)}m"
