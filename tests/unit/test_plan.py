"""Compiling CWL into a plan: references, scatter, `when`, subworkflows, requirements, resources."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from saber.cwl import build_plan, dag_id_for, load_process
from saber.plan import plan_upstreams
from saber.errors import UnsupportedRequirement

ROOT = Path(__file__).resolve().parents[2]
CWL = ROOT / "tests" / "data" / "cwl"
SAMPLE = ROOT / "workflows" / "blob_count.cwl"
PlanOf = Callable[[Path], dict]  # the plan_of fixture (tests/unit/conftest.py)


def steps(plan: dict) -> dict[str, dict]:
    return {s["task_id"]: s for s in plan["steps"]}


def step_in(plan: dict, task: str, name: str) -> dict:
    return next(i for i in steps(plan)[task]["in"] if i["id"] == name)


def classes(reqs: list[dict]) -> set[str]:
    return {r["class"] for r in reqs}


# -- the sample workflow ------------------------------------------------------------------------

def test_blob_count_sample(plan_of: PlanOf) -> None:
    plan = plan_of(SAMPLE)
    assert (plan["version"], plan["name"], plan["cwlVersion"]) == (1, "blob_count", "v1.2")
    assert plan["source"] == str(SAMPLE)
    assert plan["dag_id"] == dag_id_for(SAMPLE)
    assert set(steps(plan)) == {"make_volume", "threshold", "label", "evaluate"}
    assert {i["id"]: i.get("default") for i in plan["inputs"]} == {
        "size": 48, "n_blobs": 12, "noise": 0.1, "seed": 0, "sigma": 1.0, "thresholds": [0.3, 0.5, 0.7]}
    assert {o["id"]: o["sources"] for o in plan["outputs"]} == {
        "report": ["step:evaluate/report"], "best_f1": ["step:evaluate/best_f1"],
        "counts": ["step:label/count"]}
    by_id = steps(plan)
    assert (by_id["threshold"]["scatter"], by_id["threshold"]["scatterMethod"]) == (
        ["threshold"], "dotproduct")
    assert (by_id["label"]["scatter"], by_id["label"]["scatterMethod"]) == (["mask"], "dotproduct")
    assert by_id["make_volume"]["scatter"] == [] and by_id["make_volume"]["scatterMethod"] is None
    assert by_id["threshold"]["doc"] == "Smooth and threshold the volume, once per threshold."
    assert by_id["label"]["resources"]["ram_mb"] == 256.0
    assert plan_upstreams(plan, [s for i in by_id["evaluate"]["in"] for s in i["sources"]]) == {
        "make_volume", "label"}


# -- references, defaults, valueFrom ------------------------------------------------------------

@pytest.mark.parametrize("fixture, task, name, expected", [
    pytest.param("features_wf", "plus", "a", {"sources": ["in:n"], "valueFrom": "$(self + 1)"},
                 id="workflow-input-with-valueFrom"),
    pytest.param("features_wf", "plus", "b", {"sources": [], "default": 5, "valueFrom": None},
                 id="default-only"),
    pytest.param("features_wf", "gated", "a", {"sources": ["step:plus/sum"]}, id="step-output"),
    pytest.param("features_wf", "merged", "a",
                 {"sources": ["step:plus/sum", "step:gated/sum"], "linkMerge": "merge_flattened",
                  "pickValue": "the_only_non_null"}, id="linkMerge-pickValue"),
    pytest.param("features_wf", "merged", "b", {"sources": ["in:n"], "default": 7},
                 id="source-and-default"),
    pytest.param("scatter_wf", "shout", "message",
                 {"sources": ["in:messages"], "valueFrom": "$(self + inputs.suffix)"},
                 id="scattered-valueFrom"),
    pytest.param("scatter_wf", "join", "files", {"sources": ["step:shout/out"], "linkMerge": None},
                 id="from-scattered-step"),
    pytest.param("sub_wf", "twice.first", "a", {"sources": ["port:twice/start"]},
                 id="inner-from-port"),
    pytest.param("sub_wf", "twice.second", "a", {"sources": ["step:twice.first/sum"]},
                 id="inner-from-inner-step"),
    pytest.param("sub_wf", "after", "a", {"sources": ["out:twice/result"]},
                 id="outer-from-subworkflow-output"),
])
def test_step_inputs(plan_of: PlanOf, fixture: str, task: str, name: str, expected: dict) -> None:
    rec = step_in(plan_of(CWL / f"{fixture}.cwl"), task, name)
    assert {k: rec.get(k) for k in expected} == expected


def test_workflow_inputs_and_outputs(plan_of: PlanOf) -> None:
    plan = plan_of(CWL / "features_wf.cwl")
    inputs = {i["id"]: i for i in plan["inputs"]}
    assert inputs["xs"] == {"id": "xs", "type": {"type": "array", "items": "int"},
                            "doc": "numbers to scatter over", "default": [1, 2]}
    assert inputs["n"] == {"id": "n", "type": "int", "doc": "a required number"}
    assert inputs["label"]["type"] == ["null", "string"] and "default" not in inputs["label"]
    assert inputs["flag"]["default"] is True
    outputs = {o["id"]: o for o in plan["outputs"]}
    assert outputs["either"]["sources"] == ["step:gated/sum", "step:plus/sum"]
    assert outputs["either"]["pickValue"] == "first_non_null"
    assert outputs["total"]["sources"] == ["step:plus/sum"]


# -- scatter and when ---------------------------------------------------------------------------

@pytest.mark.parametrize("fixture, task, scatter, method", [
    pytest.param("features_wf", "dot", ["a", "b"], "dotproduct", id="dotproduct"),
    pytest.param("features_wf", "nested", ["a", "b"], "nested_crossproduct", id="nested_crossproduct"),
    pytest.param("features_wf", "flat", ["a", "b"], "flat_crossproduct", id="flat_crossproduct"),
    pytest.param("scatter_wf", "shout", ["message"], "dotproduct", id="one-input-defaults-to-dotproduct"),
    pytest.param("features_wf", "plus", [], None, id="not-scattered"),
])
def test_scatter(plan_of: PlanOf, fixture: str, task: str, scatter: list, method: str | None) -> None:
    step = steps(plan_of(CWL / f"{fixture}.cwl"))[task]
    assert (step["scatter"], step["scatterMethod"]) == (scatter, method)


@pytest.mark.parametrize("fixture, task, when", [
    pytest.param("features_wf", "gated", "$(inputs.on)", id="conditional"),
    pytest.param("features_wf", "plus", None, id="unconditional"),
    pytest.param("scatter_when_wf", "odd", "$(inputs.a % 2 == 1)", id="scattered-conditional"),
])
def test_when(plan_of: PlanOf, fixture: str, task: str, when: str | None) -> None:
    assert steps(plan_of(CWL / f"{fixture}.cwl"))[task]["when"] == when


def test_when_input_that_is_not_a_tool_input_is_kept(plan_of: PlanOf) -> None:
    assert step_in(plan_of(CWL / "features_wf.cwl"), "gated", "on")["sources"] == ["in:flag"]


# -- subworkflows -------------------------------------------------------------------------------

def test_subworkflow(plan_of: PlanOf) -> None:
    plan = plan_of(CWL / "sub_wf.cwl")
    by_id = steps(plan)
    assert set(by_id) == {"before", "twice.first", "twice.second", "after"}
    assert {t: (s["id"], s["group"]) for t, s in by_id.items()} == {
        "before": ("before", None), "after": ("after", None),
        "twice.first": ("first", "twice"), "twice.second": ("second", "twice")}
    assert set(plan["ports"]) == {"twice/start", "twice/step"}
    assert plan["ports"]["twice/start"]["sources"] == ["step:before/sum"]
    step_port = plan["ports"]["twice/step"]
    assert (step_port["sources"], step_port["default"], step_port["valueFrom"]) == ([], 2, "$(self * 10)")
    assert plan["outports"] == {"twice/result": {"sources": ["step:twice.second/sum"],
                                                 "linkMerge": None, "pickValue": None}}
    assert {o["id"]: o["sources"] for o in plan["outputs"]} == {
        "final": ["step:after/sum"], "inner": ["out:twice/result"]}


@pytest.mark.parametrize("task, upstreams", [
    pytest.param("before", set(), id="first"),
    pytest.param("twice.first", {"before"}, id="through-port"),
    pytest.param("twice.second", {"twice.first"}, id="inner"),
    pytest.param("after", {"twice.second"}, id="through-subworkflow-output"),
])
def test_plan_upstreams_follow_ports(plan_of: PlanOf, task: str, upstreams: set) -> None:
    plan = plan_of(CWL / "sub_wf.cwl")
    refs = [s for rec in steps(plan)[task]["in"] for s in rec["sources"]]
    assert plan_upstreams(plan, refs) == upstreams


def test_step_id_with_a_dot(plan_of: PlanOf) -> None:
    plan = plan_of(CWL / "dotted_wf.cwl")
    assert {s["task_id"]: (s["id"], s["group"]) for s in plan["steps"]} == {
        "add.once": ("add.once", None), "add.again": ("add.again", None)}


def test_scattered_subworkflow_is_a_mapped_group(plan_of: PlanOf) -> None:
    plan = plan_of(CWL / "scatter_sub_wf.cwl")
    assert plan["mapped"] == {"each": {"scatter": ["start"], "scatterMethod": "dotproduct", "group": None,
                                       "guards": []}}
    inner = {s["task_id"]: s for s in plan["steps"] if s["group"] == "each"}
    assert set(inner) == {"each.first", "each.second"}
    assert all(s["mapped_by"] == "each" for s in inner.values())
    # each element's own `when` guards the steps inside
    assert all([g["task"] for g in s["guards"]] == ["each"] for s in inner.values())
    assert plan_upstreams(plan, ["port:each/start"]) == {"each__scatter"}
    assert plan_upstreams(plan, ["out:each/result"]) == {"each.second"}


def test_scatter_inside_a_scattered_subworkflow_runs_inside_the_task(plan_of: PlanOf) -> None:
    plan = plan_of(CWL / "scatter_nested_wf.cwl")
    (step,) = plan["steps"]
    assert (step["task_id"], step["mapped_by"], step["scatter"], step["inline_scatter"]) == (
        "outer.add", "outer", ["a", "b"], True)


def test_scattered_subworkflow_inside_a_scattered_subworkflow_is_unsupported() -> None:
    path = CWL / "invalid" / "nested_scattered_sub.cwl"
    with pytest.raises(UnsupportedRequirement, match=r"step 'outer.inner': a scattered subworkflow inside"):
        build_plan(load_process(path), path=path)


# -- requirements and resources -----------------------------------------------------------------

@pytest.mark.parametrize("fixture, expected", [
    pytest.param("features_wf", {"EnvVarRequirement", "ScatterFeatureRequirement",
                                 "StepInputExpressionRequirement", "DockerRequirement"}, id="workflow"),
    pytest.param("sub_wf", {"SubworkflowFeatureRequirement", "StepInputExpressionRequirement",
                            "DockerRequirement"}, id="through-subworkflow"),
])
def test_requirements_inherited_by_every_step(plan_of: PlanOf, fixture: str, expected: set) -> None:
    plan = plan_of(CWL / f"{fixture}.cwl")
    for step in plan["steps"]:
        assert expected <= classes(step["requirements"]), step["task_id"]


def test_inherited_requirement_keeps_its_fields(plan_of: PlanOf) -> None:
    for step in plan_of(CWL / "features_wf.cwl")["steps"]:
        env = next(r for r in step["requirements"] if r["class"] == "EnvVarRequirement")
        assert env["envDef"] == [{"envName": "SABER_TEST", "envValue": "inherited"}]


@pytest.mark.parametrize("task, expected", [
    pytest.param("plain", {"cores": 1.0, "cores_declared": False, "ram_mb": 512.0, "pool_slots": 1, "gpus": 0,
                           "queue": "default", "pool": "default_pool", "cuda": None},
                 id="workflow-ramMin"),
    pytest.param("big", {"cores": 2.5, "cores_declared": True, "ram_mb": 3000.0, "pool_slots": 3, "gpus": 0,
                         "queue": "default", "pool": "default_pool"}, id="coresMin-ceil"),
    pytest.param("gpu", {"gpus": 2, "queue": "gpu", "pool": "saber_gpu", "pool_slots": 1},
                 id="cuda-hint"),
    pytest.param("mapform", {"gpus": 0, "queue": "gpu", "pool": "saber_gpu"}, id="saber-queue-hint"),
])
def test_resources(plan_of: PlanOf, task: str, expected: dict) -> None:
    res = steps(plan_of(CWL / "resources_wf.cwl"))[task]["resources"]
    assert {k: res[k] for k in expected} == expected


def test_cuda_requirement_kept_for_the_executor(plan_of: PlanOf) -> None:
    cuda = steps(plan_of(CWL / "resources_wf.cwl"))["gpu"]["resources"]["cuda"]
    assert cuda["class"] == "http://commonwl.org/cwltool#CUDARequirement"
    assert (cuda["cudaVersionMin"], cuda["cudaComputeCapability"], cuda["cudaDeviceCountMin"]) == (
        "11.4", "7.0", 2)


def test_tool_hint_sets_ram(plan_of: PlanOf) -> None:
    res = steps(plan_of(CWL / "scatter_wf.cwl"))["shout"]["resources"]
    assert (res["cores"], res["ram_mb"], res["pool_slots"]) == (1.0, 128.0, 1)


def test_tool_requirement_wins_over_workflow_requirement(plan_of: PlanOf) -> None:
    # CWL: a requirement on the CommandLineTool takes precedence over the enclosing workflow's;
    # cwltool's get_requirement agrees (it searches the inherited list from the end).
    res = steps(plan_of(CWL / "precedence_wf.cwl"))["heavy"]["resources"]
    assert (res["cores"], res["pool_slots"]) == (4.0, 4)


@pytest.mark.parametrize("task, expected", [
    pytest.param("listform", {"score_format": "F1: {score}"}, id="list-class-saber:Hints"),
    pytest.param("mapform", {"score_format": "map {score}", "queue": "gpu"}, id="map-saber:Hints"),
    pytest.param("bare", {"score_format": "bare {score}"}, id="class-less-saber"),
    pytest.param("keyform", {"score_format": "key {score}"}, id="namespaced-key"),
    pytest.param("plain", {}, id="none"),
])
def test_saber_hints(plan_of: PlanOf, task: str, expected: dict) -> None:
    assert steps(plan_of(CWL / "resources_wf.cwl"))[task]["saber"] == expected


# -- versions, single tools, self-contained plans ----------------------------------------------

@pytest.mark.parametrize("fixture, version", [
    pytest.param("wf_v10", "v1.0", id="v1.0"),
    pytest.param("wf_v11", "v1.1", id="v1.1"),
    pytest.param("scatter_wf", "v1.2", id="v1.2"),
])
def test_cwl_versions_load(plan_of: PlanOf, fixture: str, version: str) -> None:
    plan = plan_of(CWL / f"{fixture}.cwl")
    assert plan["cwlVersion"] == version
    assert all(s["tool"]["class"] == "CommandLineTool" for s in plan["steps"])


@pytest.mark.parametrize("fixture", [
    pytest.param("echo", id="v1.2"),
    pytest.param("echo_v10", id="v1.0"),
    pytest.param("echo_v11", id="v1.1"),
])
def test_tool_alone_is_a_one_step_workflow(plan_of: PlanOf, fixture: str) -> None:
    plan = plan_of(CWL / f"{fixture}.cwl")
    (step,) = plan["steps"]
    assert (step["task_id"], step["id"], step["group"]) == (fixture, fixture, None)
    assert step_in(plan, fixture, "message")["sources"] == ["in:message"]
    assert [i["id"] for i in plan["inputs"]][:1] == ["message"]
    assert {o["id"]: o["sources"] for o in plan["outputs"]}["out"] == [f"step:{fixture}/out"]


@pytest.mark.parametrize("fixture", ["features_wf", "sub_wf", "scatter_wf", "resources_wf"])
def test_plan_is_plain_json(plan_of: PlanOf, fixture: str) -> None:
    plan = plan_of(CWL / f"{fixture}.cwl")
    assert json.loads(json.dumps(plan, allow_nan=False)) == plan


def test_plan_is_self_contained(tmp_path: Path) -> None:
    """Every step carries its tool: the plan still loads each tool once the CWL files are gone."""
    from saber.execution import preload_tool

    for name in ("sub_wf", "inner_wf", "add"):
        shutil.copy(CWL / f"{name}.cwl", tmp_path)
    plan = json.loads(json.dumps(build_plan(load_process(tmp_path / "sub_wf.cwl"),
                                            path=tmp_path / "sub_wf.cwl")))
    for name in ("sub_wf", "inner_wf", "add"):
        (tmp_path / f"{name}.cwl").unlink()
    for step in plan["steps"]:
        assert "run" not in step["tool"]
        tool = preload_tool(step)
        assert tool.tool["baseCommand"][0] == "python3"
        assert tool.get_requirement("DockerRequirement")[0]["dockerPull"] == "saber/blobs:0.1.0"


def test_dag_ids_differ_for_same_file_name_in_two_folders(tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "wf.cwl", tmp_path / "b" / "wf.cwl"
    assert dag_id_for(a).startswith("saber_wf_") and dag_id_for(b).startswith("saber_wf_")
    assert dag_id_for(a) != dag_id_for(b)
    assert dag_id_for(tmp_path / "my wf!.cwl").startswith("saber_my_wf__")


def test_dag_ids_stay_when_a_checkout_moves(tmp_path: Path) -> None:
    """The id hashes the file's place in its checkout, not the absolute path: a clone elsewhere
    (another user, CI, a deployment's copy) submits to the same DAG."""
    for clone in ("one", "two/deeper"):
        (tmp_path / clone / ".git").mkdir(parents=True)
        (tmp_path / clone / "workflows").mkdir()
    ids = {dag_id_for(tmp_path / clone / "workflows" / "wf.cwl") for clone in ("one", "two/deeper")}
    assert len(ids) == 1
    assert dag_id_for(tmp_path / "one" / "workflows" / "wf.cwl") != dag_id_for(tmp_path / "one" / "other" / "wf.cwl")
    # outside a checkout: the folder's name and the file's
    assert dag_id_for(tmp_path / "x" / "lab" / "wf.cwl") == dag_id_for(tmp_path / "y" / "lab" / "wf.cwl")


_STEP_ORDER = """
import sys
from pathlib import Path
from saber.cwl import build_plan, load_process
path = Path(sys.argv[1])
print(" ".join(s["task_id"] for s in build_plan(load_process(path), path=path)["steps"]))
"""


def test_plan_step_order_is_reproducible() -> None:
    # Hash seed 1 is one that gives cwltool's steps in an order unlike the file's.
    out = subprocess.run([sys.executable, "-c", _STEP_ORDER, str(SAMPLE)], capture_output=True,
                         text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "1"})
    assert out.stdout.split() == ["make_volume", "threshold", "label", "evaluate"]  # file order


def test_cuda_requirement_under_requirements(plan_of: PlanOf) -> None:
    """cwltool's extensions are enabled (as --enable-ext does), so CUDA may be a requirement."""
    step = plan_of(CWL / "gpu_required.cwl")["steps"][0]
    assert step["resources"]["queue"] == "gpu" and step["resources"]["pool"] == "saber_gpu"
    assert step["resources"]["gpus"] == 2
    assert step["resources"]["cuda"]["cudaVersionMin"] == "11.4"


def test_when_on_a_subworkflow_step_guards_its_inner_steps(plan_of: PlanOf) -> None:
    plan = plan_of(CWL / "when_sub_wf.cwl")
    inner = {s["task_id"]: s for s in plan["steps"] if s["group"] == "maybe"}
    assert set(inner) == {"maybe.say", "maybe.join"}
    for step in inner.values():
        assert [(g["task"], g["when"]) for g in step["guards"]] == [("maybe", "$(inputs.flag)")]
    assert steps(plan)["always"]["guards"] == []


# -- secrets (cwltool:Secrets) ------------------------------------------------------------------

def test_secret_inputs(plan_of: PlanOf) -> None:
    # A tool's secret input makes the workflow input feeding it secret; the tool alone too.
    plan = plan_of(CWL / "secret_wf.cwl")
    assert plan["secrets"] == ["api_key"] and steps(plan)["use"]["secrets"] == ["token"]
    assert plan_of(CWL / "secret_env.cwl")["secrets"] == ["token"]
    assert plan_of(SAMPLE)["secrets"] == []


def test_a_secret_must_be_a_string(tmp_path: Path) -> None:
    from saber.errors import InputError

    wf = tmp_path / "wf.cwl"
    wf.write_text(
        "cwlVersion: v1.2\nclass: Workflow\n$namespaces: {cwltool: 'http://commonwl.org/cwltool#'}\n"
        "hints:\n  cwltool:Secrets: {secrets: [key]}\n"
        "inputs:\n  key: int\noutputs: []\nsteps: []\n")
    with pytest.raises(InputError, match="input 'key' is a secret .* must be a string") as e:
        build_plan(load_process(wf), path=wf)
    assert e.value.where.file == str(wf)
