"""Resolving step inputs between tasks: links, pickValue, defaults, scatter, valueFrom, when."""

from __future__ import annotations

import copy

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from saber.errors import SaberError
from saber.execution import Resolver, finish_inputs, nest, scatter_jobs, when_true

JS = [{"class": "InlineJavascriptRequirement"}]
needs_node = pytest.mark.skipif(not (shutil.which("node") or shutil.which("nodejs")),
                                reason="JavaScript expressions need Node.js")

# What upstream tasks returned: A ran, SKIPPED was skipped, S is a scattered step (one output
# object per instance), N returned a null output.
OUTPUTS: dict[str, Any] = {
    "A": {"o": 1, "f": {"class": "File", "location": "file:///a"}},
    "B": {"o": 2},
    "SKIPPED": None,
    "S": [{"o": 10}, {"o": 20}],
    "N": {"o": None},
}

PLAN = {
    "inputs": [{"id": "x", "type": "int"}, {"id": "empty", "type": ["null", "int"]}],
    "steps": [],
    "ports": {
        "sub/p": {"id": "p", "sources": ["in:x"], "valueFrom": "$(self + 1)",
                  "requirements": [{"class": "InlineJavascriptRequirement"}]},
        "sub/q": {"id": "q", "sources": [], "default": 7, "valueFrom": None},
        "sub/r": {"id": "r", "sources": ["step:SKIPPED/o"], "default": 3, "valueFrom": "$(inputs.q)"},
    },
    "outports": {"sub/out": {"sources": ["step:B/o"], "linkMerge": None, "pickValue": None}},
}


class Fetch:
    """A fake XCom: returns OUTPUTS and counts calls per task."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, task_id: str, index: dict | None = None) -> Any:
        self.calls.append(task_id)
        return OUTPUTS[task_id]


@pytest.fixture
def resolver() -> Resolver:
    return Resolver(PLAN, {"x": 5, "empty": None}, Fetch())


@pytest.mark.parametrize("ref, value", [
    pytest.param("in:x", 5, id="workflow-input"),
    pytest.param("in:empty", None, id="null-workflow-input"),
    pytest.param("step:A/o", 1, id="step-output"),
    pytest.param("step:A/missing", None, id="absent-output"),
    pytest.param("step:SKIPPED/o", None, id="skipped-upstream"),
    pytest.param("step:S/o", [10, 20], id="scattered-upstream"),
    pytest.param("out:sub/out", 2, id="subworkflow-output"),
    pytest.param("port:sub/q", 7, id="port-default"),
])
def test_ref(resolver: Resolver, ref: str, value: Any) -> None:
    assert resolver.ref(ref) == value


@needs_node
@pytest.mark.parametrize("ref, value", [
    pytest.param("port:sub/p", 6, id="port-valueFrom-self"),
    pytest.param("port:sub/r", 7, id="port-valueFrom-sees-sibling-ports"),
])
def test_port_valueFrom(resolver: Resolver, ref: str, value: Any) -> None:
    assert resolver.ref(ref) == value


def test_ref_is_fetched_once(resolver: Resolver) -> None:
    resolver.ref("step:A/o")
    resolver.ref("step:A/o")
    assert resolver.fetch.calls == ["A"]


def test_bad_reference() -> None:
    with pytest.raises(SaberError, match="bad reference in plan: nope:x"):
        Resolver(PLAN, {}, Fetch()).ref("nope:x")


@pytest.mark.parametrize("link, value", [
    pytest.param({"sources": []}, None, id="no-sources"),
    pytest.param({"sources": ["step:A/o"]}, 1, id="one-source"),
    pytest.param({"sources": ["step:A/o"], "linkMerge": "merge_nested"}, [1], id="one-source-nested"),
    pytest.param({"sources": ["step:A/o", "step:B/o"]}, [1, 2], id="default-is-merge_nested"),
    pytest.param({"sources": ["step:S/o", "step:A/o"], "linkMerge": "merge_nested"}, [[10, 20], 1],
                 id="merge_nested"),
    pytest.param({"sources": ["step:S/o", "step:A/o"], "linkMerge": "merge_flattened"}, [10, 20, 1],
                 id="merge_flattened"),
    pytest.param({"sources": ["step:SKIPPED/o", "step:A/o"], "pickValue": "first_non_null"}, 1,
                 id="first_non_null"),
    pytest.param({"sources": ["step:SKIPPED/o", "step:B/o", "step:N/o"],
                  "pickValue": "the_only_non_null"}, 2, id="the_only_non_null"),
    pytest.param({"sources": ["step:A/o", "step:SKIPPED/o", "step:B/o"], "pickValue": "all_non_null"},
                 [1, 2], id="all_non_null"),
    pytest.param({"sources": ["step:SKIPPED/o", "step:N/o"], "pickValue": "all_non_null"}, [],
                 id="all_non_null-none"),
    pytest.param({"sources": ["step:S/o"], "pickValue": "all_non_null"}, [10, 20],
                 id="all_non_null-one-array-source"),
    pytest.param({"sources": ["step:S/o", "step:SKIPPED/o"], "linkMerge": "merge_flattened",
                  "pickValue": "first_non_null"}, 10, id="merge_flattened-then-pick"),
])
def test_link(resolver: Resolver, link: dict, value: Any) -> None:
    assert resolver.link(link) == value


@pytest.mark.parametrize("link, message", [
    pytest.param({"sources": ["step:SKIPPED/o", "step:N/o"], "pickValue": "first_non_null"},
                 "first_non_null: all sources are null", id="first_non_null-all-null"),
    pytest.param({"sources": ["step:A/o", "step:B/o"], "pickValue": "the_only_non_null"},
                 "the_only_non_null: 2 sources are non-null", id="the_only_non_null-two"),
    pytest.param({"sources": ["step:SKIPPED/o"], "pickValue": "the_only_non_null"},
                 "the_only_non_null: 0 sources are non-null", id="the_only_non_null-none"),
    pytest.param({"sources": ["step:A/o"], "pickValue": "any"}, "unknown pickValue method 'any'",
                 id="unknown-method"),
])
def test_link_errors(resolver: Resolver, link: dict, message: str) -> None:
    with pytest.raises(SaberError, match=message):
        resolver.link(link)


@pytest.mark.parametrize("rec, value", [
    pytest.param({"sources": ["step:SKIPPED/o"], "default": 9}, 9, id="skipped-takes-default"),
    pytest.param({"sources": ["step:N/o"], "default": 9}, 9, id="null-takes-default"),
    pytest.param({"sources": ["step:A/o"], "default": 9}, 1, id="value-beats-default"),
    pytest.param({"sources": [], "default": 9}, 9, id="default-only"),
    pytest.param({"sources": ["step:SKIPPED/o"]}, None, id="skipped-no-default"),
    pytest.param({"sources": ["in:x"], "default": None}, 5, id="null-default"),
])
def test_link_with_default(resolver: Resolver, rec: dict, value: Any) -> None:
    assert resolver.link_with_default(rec) == value


def test_step_inputs(resolver: Resolver) -> None:
    step = {"task_id": "t", "in": [
        {"id": "a", "sources": ["step:A/o"]},
        {"id": "gone", "sources": ["step:SKIPPED/o"]},  # null (cwltool then uses the tool's default)
        {"id": "d", "sources": ["step:SKIPPED/o"], "default": 4},
        {"id": "swept", "sources": ["in:x"]},
        {"id": "forced", "sources": ["step:SKIPPED/o"]},
    ]}
    assert resolver.step_inputs(step, {"swept": 100, "forced": None}) == {
        "a": 1, "gone": None, "d": 4, "swept": 100, "forced": None}
    # `when` and valueFrom must see a missing value as null, not undefined (cond-with-defaults)
    assert resolver.step_inputs(step) == {"a": 1, "gone": None, "d": 4, "swept": 5, "forced": None}


# -- scatter ------------------------------------------------------------------------------------

def scattered(method: str | None, names: list[str]) -> dict:
    return {"task_id": "t", "scatter": names, "scatterMethod": method, "in": []}


@pytest.mark.parametrize("method, values, jobs, shape", [
    pytest.param("dotproduct", {"a": [1, 2], "b": ["x", "y"], "c": 0},
                 [{"a": 1, "b": "x", "c": 0}, {"a": 2, "b": "y", "c": 0}], [2], id="dotproduct"),
    pytest.param(None, {"a": [1, 2], "b": ["x", "y"], "c": 0},
                 [{"a": 1, "b": "x", "c": 0}, {"a": 2, "b": "y", "c": 0}], [2],
                 id="default-dotproduct"),
    pytest.param("nested_crossproduct", {"a": [1, 2], "b": ["x", "y", "z"], "c": 0},
                 [{"a": a, "b": b, "c": 0} for a in (1, 2) for b in "xyz"], [2, 3],
                 id="nested_crossproduct"),
    pytest.param("flat_crossproduct", {"a": [1, 2], "b": ["x", "y", "z"], "c": 0},
                 [{"a": a, "b": b, "c": 0} for a in (1, 2) for b in "xyz"], [6],
                 id="flat_crossproduct"),
    pytest.param("dotproduct", {"a": [], "b": [], "c": 0}, [], [0], id="dotproduct-empty"),
    pytest.param("nested_crossproduct", {"a": [1, 2], "b": [], "c": 0}, [], [2, 0],
                 id="nested-empty-inner"),
])
def test_scatter_jobs(method: str | None, values: dict, jobs: list, shape: list) -> None:
    assert scatter_jobs(scattered(method, ["a", "b"]), values) == (jobs, shape)


def test_scatter_one_input() -> None:
    assert scatter_jobs(scattered("dotproduct", ["a"]), {"a": [1, 2, 3]}) == (
        [{"a": 1}, {"a": 2}, {"a": 3}], [3])


@pytest.mark.parametrize("values, message", [
    pytest.param({"a": [1, 2], "b": [1]}, r"dotproduct scatter over arrays of different lengths \[2, 1\]",
                 id="dotproduct-lengths"),
    pytest.param({"a": 3, "b": [1]}, "scatter input 'a' is not an array", id="not-an-array"),
    pytest.param({"b": [1]}, "scatter input 'a' is not an array", id="missing"),
])
def test_scatter_errors(values: dict, message: str) -> None:
    with pytest.raises(SaberError, match=message):
        scatter_jobs(scattered("dotproduct", ["a", "b"]), values)


@pytest.mark.parametrize("flat, shape, nested", [
    pytest.param([1, 2, 3], [3], [1, 2, 3], id="one-dimension"),
    pytest.param([1, 2, 3, 4, 5, 6], [2, 3], [[1, 2, 3], [4, 5, 6]], id="two-dimensions"),
    pytest.param(list(range(8)), [2, 2, 2], [[[0, 1], [2, 3]], [[4, 5], [6, 7]]], id="three-dimensions"),
    pytest.param([], [0, 3], [], id="empty-outer"),
    pytest.param([], [2, 0], [[], []], id="empty-inner"),
])
def test_nest(flat: list, shape: list, nested: list) -> None:
    assert nest(flat, shape) == nested


def test_nest_inverts_nested_crossproduct() -> None:
    jobs, shape = scatter_jobs(scattered("nested_crossproduct", ["a", "b"]), {"a": [1, 2], "b": [10, 20, 30]})
    assert nest([j["a"] + j["b"] for j in jobs], shape) == [[11, 21, 31], [12, 22, 32]]


# -- valueFrom and when -------------------------------------------------------------------------

def with_value_from(**exprs: str) -> dict:
    return {"task_id": "t", "in": [{"id": k, "valueFrom": v} for k, v in exprs.items()] + [
        {"id": "plain", "valueFrom": None}]}


@pytest.mark.parametrize("exprs, values, expected", [
    pytest.param({"b": "$(inputs.a)"}, {"a": 3, "b": 1, "plain": "p"}, {"a": 3, "b": 3, "plain": "p"},
                 id="parameter-reference"),
    pytest.param({"b": "$(self)"}, {"b": [1, 2]}, {"b": [1, 2]}, id="self"),
    pytest.param({"b": "fixed"}, {"b": 1}, {"b": "fixed"}, id="literal"),
    pytest.param({"c": "$(inputs.a)"}, {"a": 3}, {"a": 3, "c": 3}, id="input-with-no-source"),
])
def test_finish_inputs(exprs: dict, values: dict, expected: dict) -> None:
    assert finish_inputs(with_value_from(**exprs), values, []) == expected


@needs_node
@pytest.mark.parametrize("exprs, values, expected", [
    pytest.param({"a": "$(self + 1)"}, {"a": 1}, {"a": 2}, id="self-plus-one"),
    pytest.param({"a": "$(self + 1)", "b": "$(inputs.a * 10)"}, {"a": 1, "b": 0}, {"a": 2, "b": 10},
                 id="inputs-are-pre-valueFrom"),
])
def test_finish_inputs_javascript(exprs: dict, values: dict, expected: dict) -> None:
    assert finish_inputs(with_value_from(**exprs), values, JS) == expected


def test_finish_inputs_leaves_its_argument_alone() -> None:
    values = {"a": 3, "b": 1}
    finish_inputs(with_value_from(b="$(inputs.a)"), values, [])
    assert values == {"a": 3, "b": 1}


@pytest.mark.parametrize("when, values, expected", [
    pytest.param(None, {}, True, id="no-condition"),
    pytest.param("$(inputs.on)", {"on": True}, True, id="true"),
    pytest.param("$(inputs.on)", {"on": False}, False, id="false"),
])
def test_when_true(when: str | None, values: dict, expected: bool) -> None:
    assert when_true({"task_id": "t", "when": when}, values, []) is expected


@needs_node
def test_when_javascript() -> None:
    step = {"task_id": "t", "when": "$(inputs.a % 2 == 1)"}
    assert [when_true(step, {"a": a}, JS) for a in (1, 2, 3)] == [True, False, True]


@pytest.mark.parametrize("values", [
    pytest.param({"on": 1}, id="int"),
    pytest.param({"on": None}, id="null"),
    pytest.param({"on": "yes"}, id="string"),
])
def test_when_must_be_boolean(values: dict) -> None:
    with pytest.raises(SaberError, match=r"step 't': 'when' must give true or false, got"):
        when_true({"task_id": "t", "when": "$(inputs.on)"}, values, [])


# -- compiled plans ----------------------------------------------------------------------------

CWL = Path(__file__).resolve().parents[1] / "data" / "cwl"


@needs_node
def test_subworkflow_ports_resolve(plan_of: Callable[[Path], dict]) -> None:
    """Inner steps see the subworkflow step's inputs after its default and valueFrom."""
    plan = copy.deepcopy(plan_of(CWL / "sub_wf.cwl"))  # the fixture caches plans per session
    # sub_wf.cwl's valueFrom is JavaScript without InlineJavascriptRequirement: cwltool refuses
    # it, and so do we; with the requirement the values flow as below.
    outputs = {"before": {"sum": 4}, "twice.first": {"sum": 24}, "twice.second": {"sum": 44}}
    steps = {s["task_id"]: s for s in plan["steps"]}
    with pytest.raises(Exception, match="InlineJavascriptRequirement"):
        Resolver(plan, {"n": 3}, outputs.get).step_inputs(steps["twice.first"])
    plan["ports"]["twice/step"]["requirements"].append({"class": "InlineJavascriptRequirement"})
    resolver = Resolver(plan, {"n": 3}, outputs.get)
    assert resolver.step_inputs(steps["twice.first"]) == {"a": 4, "b": 20}  # step: default 2, *10
    assert resolver.step_inputs(steps["twice.second"]) == {"a": 24, "b": 20}
    assert resolver.step_inputs(steps["after"]) == {"a": 44, "b": 3}
    (inner,) = (o for o in plan["outputs"] if o["id"] == "inner")
    assert resolver.link(inner) == 44


@needs_node
def test_features_plan_resolves(plan_of: Callable[[Path], dict]) -> None:
    plan = plan_of(CWL / "features_wf.cwl")
    steps = {s["task_id"]: s for s in plan["steps"]}
    resolver = Resolver(plan, {"n": 1, "flag": False, "xs": [1, 2], "ys": [10, 20, 30]},
                        {"plus": {"sum": 7}, "gated": None}.get)
    plus = resolver.step_inputs(steps["plus"])
    assert finish_inputs(steps["plus"], plus, steps["plus"]["requirements"]) == {"a": 2, "b": 5}
    gated = resolver.step_inputs(steps["gated"])
    assert when_true(steps["gated"], gated, steps["gated"]["requirements"]) is False
    assert resolver.step_inputs(steps["merged"]) == {"a": 7, "b": 1}  # gated skipped: plus's sum
    jobs, shape = scatter_jobs(steps["nested"], resolver.step_inputs(steps["nested"]))
    assert (len(jobs), shape, jobs[1]) == (6, [2, 3], {"a": 1, "b": 20})
