"""Compile a loaded cwltool Process into the Plan: plain JSON data the DAG file reads.

A Plan holds everything a task needs at run time (each step's tool document, inherited
requirements, links between steps) so a DAG file moved to another machine still works.

Value references are strings with a kind prefix:
  ``in:NAME``            a workflow input
  ``step:TASK/OUT``      output OUT of the step whose task id is TASK
  ``port:TASK/IN``       input IN of a subworkflow step TASK (resolved like a step input)
  ``out:TASK/OUT``       output OUT of a subworkflow step TASK (resolved from inner sources)
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from saber.cwl._checks import check_defaults, check_task_ids
from saber.cwl._floats import float_texts
from saber.cwl._hints import resources, retry_policy, saber_hints, score_format, warn_unknown_hints
from saber.plan import PLAN_VERSION, secret_names
from saber.errors import InputError, UnsupportedRequirement

__all__ = ["build_plan", "dag_id_for", "short_id"]


def short_id(uri: str, base: str) -> str:
    """'file:///w.cwl#step/out' -> 'step/out' relative to the process id ``base``."""
    for sep in ("#", "/"):
        if uri.startswith(base + sep):
            return uri[len(base) + 1:]
    return uri.split("#", 1)[-1]


def dag_id_for(path: Path) -> str:
    """A DAG id from the workflow file name and a short hash of where the file sits in its
    project, so two workflows with one file name never collide (SABER's DAG ids did), while
    the id stays the same when a checkout moves or is cloned elsewhere. A changed workflow
    keeps its id: Airflow keeps it as a new version of the same DAG."""
    # ASCII only: a non-ASCII DAG id failed every task at run time (its processes cannot send it
    # back to the supervisor); at most 200 characters of Airflow's 250.
    stem = re.sub(r"[^\w.-]", "_", path.stem, flags=re.ASCII)[:200]
    digest = hashlib.sha1(_project_path(path).encode()).hexdigest()[:6]
    return f"saber_{stem}_{digest}"


def _project_path(path: Path) -> str:
    """``path`` relative to its git checkout (``workflows/x.cwl``); outside one, its folder's
    name and its own (``lab/x.cwl``)."""
    path = path.resolve()
    for folder in path.parents:
        if (folder / ".git").exists():
            return path.relative_to(folder).as_posix()
    return f"{path.parent.name}/{path.name}"


def _json(value: Any) -> Any:
    """ruamel CommentedMaps -> plain JSON data."""
    return json.loads(json.dumps(value, default=str))


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def build_plan(process, *, path: Path) -> dict:
    """Compile ``process`` (a cwltool Workflow or single tool) loaded from ``path``."""
    from cwltool.workflow import Workflow

    wrapped = not isinstance(process, Workflow)
    written = process  # its nodes know their lines; a wrapper's do not
    if wrapped:
        process = _wrap_tool(process, path)
    base = process.tool["id"]
    plan: dict[str, Any] = {
        "version": PLAN_VERSION,
        "dag_id": dag_id_for(path),
        "name": path.stem,
        "source": str(path.resolve()),
        "doc": _doc(process.tool),
        "cwlVersion": process.metadata.get("http://commonwl.org/cwltool#original_cwlVersion")
        or process.metadata.get("cwlVersion"),
        "inputs": [_param(p, base) for p in process.tool["inputs"]],
        "outputs": [],
        "steps": [],
        "ports": {},
        "outports": {},
        "floats": float_texts(process.tool),
    }
    scope = {short_id(p["id"], base): f"in:{short_id(p['id'], base)}" for p in process.tool["inputs"]}
    nodes: dict[str, Any] = {}  # task id -> step document, for the lines of errors
    _add_steps(plan, process, base=base, prefix="", group=None, scope=scope, nodes=nodes)
    check_task_ids(plan, nodes, str(path))
    check_defaults(written, plan, str(path))
    if wrapped:  # the tool is the top-level process: cwltool discovers its secondaryFiles
        plan["steps"][0]["toplevel"] = True
    plan["secrets"] = _secret_inputs(plan, process, path)
    for out in process.tool["outputs"]:
        plan["outputs"].append({
            "id": short_id(out["id"], base),
            "type": _json(out["type"]),
            "sources": [_ref(s, base, scope) for s in _as_list(out.get("outputSource"))],
            "linkMerge": out.get("linkMerge"),
            "pickValue": out.get("pickValue"),
            "doc": _doc(out),
        })
    return plan


def _secret_inputs(plan: dict, process, path: Path) -> list[str]:
    """Workflow inputs whose values are secrets: those the workflow's own cwltool:Secrets lists,
    and those feeding (directly or through subworkflow ports) a tool input its tool lists."""
    names = [n for n in secret_names(_json(process.requirements), _json(process.hints))
             if any(i["id"] == n for i in plan["inputs"])]

    def workflow_inputs(refs: list[str]):
        for ref in refs:
            kind, _, rest = ref.partition(":")
            if kind == "in":
                yield rest
            elif kind == "port":
                yield from workflow_inputs(plan["ports"][rest]["sources"])

    for step in plan["steps"]:
        for rec in step["in"]:
            if rec["id"] in step["secrets"]:
                names += [n for n in workflow_inputs(rec["sources"]) if n not in names]
    for inp in plan["inputs"]:
        if inp["id"] in names and inp["type"] not in ("string", ["null", "string"]):
            raise InputError(f"input '{inp['id']}' is a secret (cwltool:Secrets), so it must be a string, "
                             f"not {json.dumps(inp['type'])}", file=str(path), field=inp["id"])
    return sorted(names)


def _wrap_tool(tool, path: Path):
    """A tool given alone runs as a one-step workflow whose step id is the file's stem."""
    from cwltool.workflow import Workflow
    from saber.cwl._load import loading_context

    step = re.sub(r"[^\w-]", "_", path.stem, flags=re.ASCII)[:200]  # a valid Airflow task id
    base = tool.tool["id"].split("#")[0] + "#__wf"  # a packed tool has its own #fragment
    ctx = loading_context()
    wf = {
        "class": "Workflow",
        "id": base,
        "cwlVersion": tool.metadata.get("cwlVersion", "v1.2"),
        "inputs": [{**{k: v for k, v in i.items() if k not in ("inputBinding",)},
                    "id": f"{base}/{short_id(i['id'], tool.tool['id'])}"} for i in tool.tool["inputs"]],
        "outputs": [{"id": f"{base}/{short_id(o['id'], tool.tool['id'])}", "type": o["type"],
                     "outputSource": f"{base}/{step}/{short_id(o['id'], tool.tool['id'])}"}
                    for o in tool.tool["outputs"]],
        "steps": [{
            "id": f"{base}/{step}",
            "run": tool.tool,
            "in": [{"id": f"{base}/{step}/{short_id(i['id'], tool.tool['id'])}",
                    "source": f"{base}/{short_id(i['id'], tool.tool['id'])}"} for i in tool.tool["inputs"]],
            "out": [f"{base}/{step}/{short_id(o['id'], tool.tool['id'])}" for o in tool.tool["outputs"]],
        }],
        # The tool's named types (SchemaDefRequirement) name the wrapper's input types too.
        "requirements": [r for r in tool.requirements if r.get("class") == "SchemaDefRequirement"],
        "hints": [],
    }
    ctx.metadata = dict(tool.metadata)
    from schema_salad.sourceline import cmap

    return Workflow(cmap(wf), ctx)


def _param(p: dict, base: str) -> dict:
    out = {"id": short_id(p["id"], base), "type": _json(p["type"]), "doc": _doc(p)}
    if "default" in p:
        out["default"] = _json(p["default"])
    return out


def _doc(obj: dict) -> str | None:
    doc = obj.get("doc") or obj.get("label")
    return "\n".join(doc) if isinstance(doc, list) else doc


def _ref(uri: str, base: str, scope: dict[str, str]) -> str:
    """Map a CWL source id to a plan reference using the current scope's names."""
    name = short_id(uri, base)
    if name in scope:
        return scope[name]
    raise InputError(f"source '{name}' names no input or step output")


def _add_steps(plan: dict, wf, *, base: str, prefix: str, group: str | None, scope: dict[str, str],
               nodes: dict[str, Any], guards: tuple = (), mapped_by: str | None = None) -> None:
    from cwltool.workflow import Workflow

    # File order, not cwltool's (which follows hash order), so a plan is reproducible.
    steps = sorted(wf.steps, key=lambda s: (getattr(getattr(s.tool, "lc", None), "line", 0) or 0, s.id))
    # Outputs first, so a source can point at any step regardless of order in the file.
    for step in steps:
        sid = short_id(step.id, base)
        task = prefix + sid
        for out in step.tool["outputs"]:
            oname = short_id(out["id"], step.id)
            kind = "out" if isinstance(step.embedded_tool, Workflow) else "step"
            scope[f"{sid}/{oname}"] = f"{kind}:{task}/{oname}"
    for step in steps:
        sid = short_id(step.id, base)
        task = prefix + sid
        inputs = [_step_input(i, step, base, scope) for i in step.tool["inputs"]]
        nodes[task] = step.tool
        if isinstance(step.embedded_tool, Workflow):
            if mapped_by and step.tool.get("scatter"):
                raise UnsupportedRequirement(f"step '{task}': a scattered subworkflow inside a scattered "
                                             "subworkflow is not supported (Airflow maps a task group once)")
            _add_subworkflow(plan, step, task, inputs, guards, mapped_by, nodes)
            continue
        record = _step_record(step, sid, task, group, inputs + _unwired(step, inputs))
        record["guards"] = list(guards)
        record["mapped_by"] = mapped_by
        # Inside a mapped task group a step cannot be mapped again: its task, one per element of
        # the group, runs the scatter's jobs itself.
        record["inline_scatter"] = bool(mapped_by and record["scatter"])
        plan["steps"].append(record)


def _step_input(i: dict, step, base: str, scope: dict[str, str]) -> dict:
    rec = {
        "id": short_id(i["id"], step.id),
        "sources": [_ref(s, base, scope) for s in _as_list(i.get("source"))],
        "linkMerge": i.get("linkMerge"),
        "pickValue": i.get("pickValue"),
        "valueFrom": i.get("valueFrom"),
        "type": _json(i.get("type", "Any")),
        "loadContents": bool(i.get("loadContents")),
    }
    if "default" in i:
        rec["default"] = _json(i["default"])
    # A step input with no source, default or valueFrom still takes the tool's own default.
    return rec


def _unwired(step, inputs: list[dict]) -> list[dict]:
    """Tool inputs the step does not connect: a sweep may still set them (as SABER did); left
    unset, the tool's own default applies."""
    tool = step.embedded_tool.tool
    wired = {rec["id"] for rec in inputs}
    extra = []
    for inp in tool["inputs"]:
        name = short_id(inp["id"], tool["id"])
        if name not in wired:
            extra.append({"id": name, "sources": [], "linkMerge": None, "pickValue": None, "valueFrom": None,
                          "type": _json(inp["type"]), "loadContents": False, "unwired": True})
    return extra


def _add_subworkflow(plan: dict, step, task: str, inputs: list[dict], guards: tuple,
                     mapped_by: str | None, nodes: dict[str, Any]) -> None:
    if step.tool.get("scatter"):
        # A scattered subworkflow is a mapped task group: a helper task scatters the step's
        # inputs, and every inner task runs once per element, at that element's map index.
        scatter = [short_id(x, step.id) for x in _as_list(step.tool["scatter"])]
        plan.setdefault("mapped", {})[task] = {
            "scatter": scatter, "scatterMethod": step.tool.get("scatterMethod") or "dotproduct",
            "group": task.rpartition(".")[0] or None, "guards": list(guards)}
        mapped_by = task
    inner = step.embedded_tool
    ibase = inner.tool["id"]
    if ibase.startswith("_:"):  # an inline `run:` gets a blank-node id; its parts live under step/run
        ibase = f"{step.id}/run"
    requirements = _json(step.requirements)  # a port's valueFrom sees only the workflow's own
    for rec in inputs:
        plan["ports"][f"{task}/{rec['id']}"] = {**rec, "requirements": requirements}
    if step.tool.get("when") is not None:
        # The subworkflow step's `when` guards every step inside: each evaluates it on the
        # subworkflow step's inputs (its ports) and is skipped when false, so outputs are null.
        guards = (*guards, {"task": task, "when": step.tool["when"], "requirements": requirements})
    scope = {short_id(p["id"], ibase): f"port:{task}/{short_id(p['id'], ibase)}"
             for p in inner.tool["inputs"]}
    _add_steps(plan, inner, base=ibase, prefix=f"{task}.", group=task, scope=scope, nodes=nodes,
               guards=guards, mapped_by=mapped_by)
    for out in inner.tool["outputs"]:
        plan["outports"][f"{task}/{short_id(out['id'], ibase)}"] = {
            "sources": [_ref(s, ibase, scope) for s in _as_list(out.get("outputSource"))],
            "linkMerge": out.get("linkMerge"),
            "pickValue": out.get("pickValue"),
        }


def _step_record(step, sid: str, task: str, group: str | None, inputs: list[dict]) -> dict:
    tool = step.embedded_tool
    scatter = [short_id(s, step.id) for s in _as_list(step.tool.get("scatter"))]
    requirements = _json(tool.requirements)
    hints = _json(tool.hints)
    saber = saber_hints(requirements + hints)
    warn_unknown_hints(step)
    return {
        "id": sid,
        "task_id": task,
        "group": group,
        "class": tool.tool["class"],
        "doc": _doc(step.tool) or _doc(tool.tool),
        "in": inputs,
        "out": [short_id(o["id"], step.id) for o in step.tool["outputs"]],
        "scatter": scatter,
        "scatterMethod": step.tool.get("scatterMethod") or ("dotproduct" if scatter else None),
        "when": step.tool.get("when"),
        "tool": _json(tool.tool),
        "cwlVersion": tool.metadata.get("cwlVersion"),
        "floats": float_texts(tool.tool),
        "originalCwlVersion": tool.metadata.get("http://commonwl.org/cwltool#original_cwlVersion"),
        "namespaces": _json(tool.metadata.get("$namespaces", {})),
        "requirements": requirements,
        "hints": hints,
        "resources": resources(requirements, hints),
        "saber": saber,
        "score_format": score_format(step, saber.get("score_format")),
        "retry": retry_policy(step, saber),
        "secrets": secret_names(requirements, hints),
    }
