"""The DAG a plan becomes: tasks, edges, mapped scatter, task groups, pools, params."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CWL = ROOT / "tests" / "data" / "cwl"
SAMPLE = ROOT / "workflows" / "blob_count.cwl"
PlanOf = Callable[[Path], dict]  # fixtures from tests/unit/conftest.py
ImportDag = Callable[[dict], object]


def edges(dag) -> dict[str, set[str]]:
    return {t.task_id: set(t.upstream_task_ids) for t in dag.tasks}


@pytest.mark.parametrize("path, expected", [
    pytest.param(CWL / "scatter_wf.cwl", {
        "shout__scatter": set(), "shout": {"shout__scatter"}, "join": {"shout"}}, id="scatter"),
    pytest.param(CWL / "sub_wf.cwl", {
        "before": set(), "twice.first": {"before"}, "twice.second": {"twice.first"},
        "after": {"twice.second"}}, id="subworkflow"),
    pytest.param(CWL / "features_wf.cwl", {
        "plus": set(), "gated": {"plus"}, "merged": {"plus", "gated"},
        "dot__scatter": set(), "dot": {"dot__scatter"}, "nested__scatter": set(),
        "nested": {"nested__scatter"}, "flat__scatter": set(), "flat": {"flat__scatter"}},
        id="features"),
    pytest.param(SAMPLE, {
        "make_volume": set(), "threshold__scatter": {"make_volume"},
        "threshold": {"threshold__scatter"}, "label__scatter": {"threshold"},
        "label": {"label__scatter"}, "evaluate": {"make_volume", "label"}}, id="blob_count"),
])
def test_tasks_and_edges(plan_of: PlanOf, import_dag: ImportDag, path: Path, expected: dict) -> None:
    assert edges(import_dag(plan_of(path))) == expected


def test_step_id_with_a_dot_keeps_its_task_id(plan_of: PlanOf, import_dag: ImportDag) -> None:
    assert edges(import_dag(plan_of(CWL / "dotted_wf.cwl"))) == {
        "add.once": set(), "add.again": {"add.once"}}


def test_scattered_step_is_mapped_over_its_helper(plan_of: PlanOf, import_dag: ImportDag) -> None:
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    from saber.airflow import CwlStepOperator, ScatterOperator

    dag = import_dag(plan_of(CWL / "scatter_wf.cwl"))
    mapped, helper = dag.get_task("shout"), dag.get_task("shout__scatter")
    assert isinstance(mapped, MappedOperator)
    assert mapped.operator_class is CwlStepOperator
    assert isinstance(helper, ScatterOperator)
    (arg,) = mapped.expand_input.value.values()
    assert set(mapped.expand_input.value) == {"job"}
    assert (arg.operator.task_id, arg.key) == ("shout__scatter", "return_value")
    assert isinstance(dag.get_task("join"), CwlStepOperator)


def test_subworkflow_steps_in_a_task_group(plan_of: PlanOf, import_dag: ImportDag) -> None:
    dag = import_dag(plan_of(CWL / "sub_wf.cwl"))
    assert set(dag.task_group_dict) == {"twice"}
    assert {t.task_id: t.task_group.group_id for t in dag.tasks if t.task_group.group_id} == {
        "twice.first": "twice", "twice.second": "twice"}
    assert dag.get_task("twice.first").step["task_id"] == "twice.first"


@pytest.mark.parametrize("task, pool, slots, queue", [
    pytest.param("plain", "default_pool", 1, "default", id="plain"),
    pytest.param("big", "default_pool", 3, "default", id="cores"),
    pytest.param("gpu", "saber_gpu", 2, "gpu", id="cuda"),  # in the GPU pool a slot is a GPU
    pytest.param("mapform", "saber_gpu", 1, "gpu", id="saber-queue"),
])
def test_pools_and_queues(plan_of: PlanOf, import_dag: ImportDag, task: str, pool: str, slots: int,
                          queue: str) -> None:
    plan = plan_of(CWL / "resources_wf.cwl")
    op = import_dag(plan).get_task(task)
    assert (op.pool, op.pool_slots, op.queue) == (pool, slots, queue)
    resources = next(s for s in plan["steps"] if s["task_id"] == task)["resources"]
    assert op.executor_config == {"saber": resources}


def test_mapped_task_keeps_resources(plan_of: PlanOf, import_dag: ImportDag) -> None:
    op = import_dag(plan_of(CWL / "scatter_wf.cwl")).get_task("shout")
    assert (op.pool, op.pool_slots, op.queue) == ("default_pool", 1, "default")
    assert op.executor_config["saber"]["ram_mb"] == 128.0


@pytest.mark.parametrize("name, value, schema, description", [
    pytest.param("count", 3, {"type": "integer"}, "how many", id="int-default"),
    pytest.param("ratio", None, {"type": ["null", "number"]}, None, id="optional-double"),
    pytest.param("name", None, {"type": ["string", "null"]}, "required name", id="required-string"),
    pytest.param("image", None, {"type": ["object", "null"]}, "an input image", id="required-File"),
    pytest.param("mode", None, {"enum": ["fast", "slow"]}, "the mode", id="enum"),
    pytest.param("either", None, {"type": ["integer", "string"]}, "int or string", id="union"),
    pytest.param("tags", ["a"], {"type": "array"}, None, id="array-default"),
])
def test_params_mirror_workflow_inputs(plan_of: PlanOf, import_dag: ImportDag, name: str, value,
                                       schema: dict, description: str | None) -> None:
    dag = import_dag(plan_of(CWL / "param_types_wf.cwl"))
    assert set(dag.params) == {"count", "ratio", "name", "image", "mode", "either", "tags"}
    param = dag.params.get_param(name)
    assert (param.value, param.schema, param.description) == (value, schema, description)


def test_dag_settings(plan_of: PlanOf, import_dag: ImportDag) -> None:
    plan = plan_of(CWL / "scatter_wf.cwl")
    dag = import_dag(plan)
    assert dag.dag_id == plan["dag_id"]
    assert dag.schedule is None
    assert dag.description == "Echo each message, then join the files."
    # the plan's digest tells a client which plan a deployment has parsed
    assert set(dag.tags) == {"saber", "cwl", f"saber-plan:{plan['digest']}"}
    assert all(t.trigger_rule == "none_failed" for t in dag.tasks)
    # a task whose worker vanished is tried once more (the scheduler's heartbeat check); whatever
    # a task raises fails it at once (the operator retries what deserves it itself)
    assert {t.retries for t in dag.tasks} == {1}
    assert {t.retry_policy.evaluate(RuntimeError("tool failed"), 1, 1).action.value for t in dag.tasks} == {"fail"}


@pytest.mark.parametrize("cwl_type, schema", [
    pytest.param("int", {"type": "integer"}, id="int"),
    pytest.param("long", {"type": "integer"}, id="long"),
    pytest.param("double", {"type": "number"}, id="double"),
    pytest.param("boolean", {"type": "boolean"}, id="boolean"),
    pytest.param("Directory", {"type": "object"}, id="Directory"),
    pytest.param(["null", "string"], {"type": ["null", "string"]}, id="optional"),
    pytest.param({"type": "array", "items": "int"}, {"type": "array"}, id="array"),
    pytest.param({"type": "enum", "symbols": ["file:///w.cwl#m/a", "file:///w.cwl#m/b"]},
                 {"enum": ["a", "b"]}, id="enum-symbols-shortened"),
    pytest.param({"type": "record", "fields": []}, {"type": "object"}, id="record"),
    pytest.param(["null", {"type": "enum", "symbols": ["a"]}], {}, id="optional-enum-unconstrained"),
    pytest.param("Any", {}, id="Any"),
])
def test_json_schema(cwl_type, schema: dict) -> None:
    from saber.airflow import json_schema

    assert json_schema(cwl_type) == schema
