"""Resolve a step's inputs from upstream outputs, as a CWL workflow engine does between steps.

Order follows the CWL spec: sources (linkMerge, pickValue) -> default -> scatter -> valueFrom
-> when. Values of other steps come through ``fetch(task_id)``, which returns the step's output
object, a list of them for a scattered step, or None for a skipped step.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

from saber.errors import SaberError

__all__ = ["Resolver", "scatter_jobs", "nest", "step_fetcher"]

Fetch = Callable[[str], Any]
XComGet = Callable[[str, int, str], Any]  # (task_id, map_index, key) -> value or None


def step_fetcher(plan: dict, get: XComGet) -> Fetch:
    """``fetch(task_id, index)`` over an XCom reader: a step's output object, a (nested) list of
    them for a scattered step, None for a skipped one. ``index`` picks, for a step inside a
    scattered subworkflow (a mapped task group), the element of that group. A scattered
    subworkflow's helper gives ``fetch(S + SCATTER_SUFFIX)`` -> (its per-element inputs, shape).
    Tasks read XCom through the Task SDK, the runner through the database; both go through here."""
    from saber.plan import SCATTER_SUFFIX

    scattered = {s["task_id"] for s in plan["steps"] if s["scatter"] and not s.get("inline_scatter")}
    mapped_by = {s["task_id"]: s.get("mapped_by") for s in plan["steps"]}

    def fetch(task_id: str, index: dict | None = None) -> Any:
        if task_id.endswith(SCATTER_SUFFIX):
            return get(task_id, -1, "return_value"), get(task_id, -1, "shape")
        if group := mapped_by.get(task_id):
            return get(task_id, (index or {})[group], "return_value")
        if task_id not in scattered:
            return get(task_id, -1, "return_value")
        shape = get(task_id + SCATTER_SUFFIX, -1, "shape")
        if shape is None:  # the scatter helper itself was skipped
            return None
        return nest([get(task_id, i, "return_value") for i in range(math.prod(shape))], shape)

    return fetch


class Resolver:
    """Evaluates plan references for one DAG run (and, inside a scattered subworkflow, for one
    element of it: ``index`` maps the mapped group to the element's map index)."""

    def __init__(self, plan: dict, workflow_inputs: dict, fetch: Fetch, index: dict | None = None) -> None:
        self.plan = plan
        self.inputs = workflow_inputs
        self.fetch = fetch
        self.index = index or {}
        self._cache: dict[str, Any] = {}

    def at(self, group: str, i: int) -> "Resolver":
        """The same run seen from element ``i`` of scattered subworkflow ``group``."""
        return Resolver(self.plan, self.inputs, self.fetch, {**self.index, group: i})

    def ref(self, ref: str) -> Any:
        if ref not in self._cache:
            self._cache[ref] = self._ref(ref)
        return self._cache[ref]

    def _ref(self, ref: str) -> Any:
        kind, _, rest = ref.partition(":")
        if kind == "in":
            return self.inputs.get(rest)
        task, _, port = rest.rpartition("/")
        mapped = self.plan.get("mapped", {})
        if kind == "step":
            return _pluck(self.fetch(task, self.index), port)
        if kind == "out" and task in mapped and task not in self.index:
            # The outputs of a scattered subworkflow: one value per element, nested by shape.
            from saber.plan import SCATTER_SUFFIX

            _, shape = self.fetch(task + SCATTER_SUFFIX)
            if shape is None:  # the helper was skipped
                return None
            rec = self.plan["outports"][rest]
            return nest([self.at(task, i).link(rec) for i in range(math.prod(shape))], shape)
        if kind == "out":
            return self.link(self.plan["outports"][rest])
        if kind == "port" and task in mapped:
            from saber.plan import SCATTER_SUFFIX

            jobs, _ = self.fetch(task + SCATTER_SUFFIX)
            return (jobs or [])[self.index[task]].get(port)
        if kind == "port":
            siblings = {k.rpartition("/")[2]: v for k, v in self.plan["ports"].items()
                        if k.rpartition("/")[0] == task}
            pre = {name: self.link_with_default(rec) for name, rec in siblings.items()}
            rec = siblings[port]
            if rec.get("valueFrom") is not None:
                return evaluate(rec["valueFrom"], pre, rec.get("requirements", []), context=pre[port])
            return pre[port]
        raise SaberError(f"bad reference in plan: {ref}")

    def ports(self, task: str) -> dict:
        """The inputs of subworkflow step ``task`` as its inner steps see them (post-valueFrom)."""
        names = [k.rpartition("/")[2] for k in self.plan["ports"] if k.rpartition("/")[0] == task]
        return {name: self.ref(f"port:{task}/{name}") for name in names}

    def scatter_ports(self, task: str) -> tuple[list[dict], list[int]]:
        """A scattered subworkflow step's inputs, one dict per element (post-valueFrom), and the
        shape: sources and defaults, then scatter, then valueFrom, as for any step."""
        recs = {k.rpartition("/")[2]: v for k, v in self.plan["ports"].items() if k.rpartition("/")[0] == task}
        pre = {name: self.link_with_default(rec) for name, rec in recs.items()}
        mapped = self.plan["mapped"][task]
        jobs, shape = scatter_jobs({"task_id": task, **mapped}, pre)
        out = []
        for job in jobs:
            done = dict(job)
            for name, rec in recs.items():
                if rec.get("valueFrom") is not None:
                    done[name] = evaluate(rec["valueFrom"], job, rec.get("requirements", []), context=job.get(name))
            out.append(done)
        return out, shape

    def guards_pass(self, step: dict) -> bool:
        """False when the `when` of a subworkflow step around ``step`` is false."""
        for guard in step.get("guards", []):
            if not when_true({"when": guard["when"], "task_id": guard["task"]}, self.ports(guard["task"]),
                             guard["requirements"]):
                return False
        return True

    def link(self, rec: dict) -> Any:
        """Combine a link's sources with linkMerge and pickValue."""
        sources = rec.get("sources") or []
        if not sources:
            return None
        values = [self.ref(s) for s in sources]
        if len(sources) == 1 and not rec.get("linkMerge"):
            value = values[0]
        elif rec.get("linkMerge") == "merge_flattened":
            value = [x for v in values for x in (v if isinstance(v, list) else [v])]
        else:
            value = values
        if rec.get("pickValue"):
            value = _pick(rec["pickValue"], value)
        return value

    def link_with_default(self, rec: dict) -> Any:
        value = self.link(rec)
        if value is None and "default" in rec:
            return rec["default"]
        return value

    def step_inputs(self, step: dict, overrides: dict | None = None) -> dict:
        """Pre-valueFrom values of every input of ``step`` (sweep overrides applied last)."""
        values = {rec["id"]: self.link_with_default(rec) for rec in step["in"]}
        for rec in step["in"]:
            if rec.get("loadContents") and values.get(rec["id"]) is not None:
                values[rec["id"]] = _load_contents(values[rec["id"]])
        # A null stays null: `when` and valueFrom see it as null (not undefined), and cwltool
        # puts the tool's own default in its place.
        values.update(overrides or {})
        return values


def _load_contents(value: Any) -> Any:
    """A step input's `loadContents`: the first 64 KiB of each File, read as cwltool reads them."""
    if isinstance(value, list):
        return [_load_contents(v) for v in value]
    if isinstance(value, dict) and value.get("class") == "File" and "contents" not in value:
        from cwltool.builder import content_limit_respected_read
        from cwltool.stdfsaccess import StdFsAccess

        with StdFsAccess("").open(value["location"], "rb") as f:
            return {**value, "contents": content_limit_respected_read(f)}
    return value


def _pluck(outputs: Any, port: str) -> Any:
    if outputs is None:
        return None
    if isinstance(outputs, list):  # a scattered step: one output object per instance
        return [_pluck(o, port) for o in outputs]
    return outputs.get(port)


def _pick(method: str, value: Any) -> Any:
    items = [v for v in (value if isinstance(value, list) else [value]) if v is not None]
    if method == "first_non_null":
        if not items:
            raise SaberError("pickValue first_non_null: all sources are null")
        return items[0]
    if method == "the_only_non_null":
        if len(items) != 1:
            raise SaberError(f"pickValue the_only_non_null: {len(items)} sources are non-null")
        return items[0]
    if method == "all_non_null":
        return items
    raise SaberError(f"unknown pickValue method {method!r}")


def evaluate(expr: Any, inputs: dict, requirements: list, *, context: Any = None,
             cwl_version: str = "v1.2") -> Any:
    """A CWL parameter reference or JavaScript expression, as cwltool evaluates it."""
    from cwl_utils import expression

    return expression.do_eval(expr, inputs, requirements, None, None, {}, context=context,
                              cwlVersion=cwl_version)


def finish_inputs(step: dict, values: dict, requirements: list) -> dict:
    """Apply valueFrom (after scatter), with ``inputs`` the pre-valueFrom values."""
    out = dict(values)
    for rec in step["in"]:
        if rec.get("valueFrom") is not None:
            out[rec["id"]] = evaluate(rec["valueFrom"], values, requirements,
                                      context=values.get(rec["id"]))
    return out


def when_true(step: dict, values: dict, requirements: list) -> bool:
    if step.get("when") is None:
        return True
    result = evaluate(step["when"], values, requirements)
    if not isinstance(result, bool):
        raise SaberError(f"step '{step['task_id']}': 'when' must give true or false, got {result!r}")
    return result


def scatter_jobs(step: dict, values: dict) -> tuple[list[dict], list[int]]:
    """Split ``values`` over the step's scatter inputs; returns the jobs and the output shape."""
    names = step["scatter"]
    arrays = []
    for name in names:
        arr = values.get(name)
        if not isinstance(arr, list):
            raise SaberError(f"step '{step['task_id']}': scatter input '{name}' is not an array")
        arrays.append(arr)
    method = step.get("scatterMethod") or "dotproduct"
    if method == "dotproduct":
        if len({len(a) for a in arrays}) > 1:
            raise SaberError(f"step '{step['task_id']}': dotproduct scatter over arrays of "
                             f"different lengths {[len(a) for a in arrays]}")
        combos = list(zip(*arrays))
        shape = [len(combos)]
    else:
        combos = list(itertools.product(*arrays))
        shape = [len(a) for a in arrays] if method == "nested_crossproduct" else [len(combos)]
    jobs = [{**values, **dict(zip(names, combo))} for combo in combos]
    return jobs, shape


def nest(flat: list, shape: list[int]) -> list:
    """Reshape a scattered step's flat outputs for nested_crossproduct."""
    if len(shape) <= 1:
        return flat
    size = len(flat) // shape[0] if shape[0] else 0
    return [nest(flat[i * size:(i + 1) * size], shape[1:]) for i in range(shape[0])]
