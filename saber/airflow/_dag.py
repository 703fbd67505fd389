"""Build the Airflow DAG of a compiled Plan, and write the DAG file that does it at parse time."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG, ExceptionRetryPolicy, Param, RetryAction, TaskGroup

from saber.airflow._executors import Executor, check_executor, executor_config, task_executor
from saber.airflow._operator import CwlStepOperator, GroupScatterOperator, ScatterOperator
from saber.plan import PLAN_TAG, SCATTER_SUFFIX, plan_digest, plan_upstreams

__all__ = ["dag_from_plan", "write_dag_file", "json_schema"]

# A task whose process vanished (its Celery worker killed, its machine gone) is found by the
# scheduler's heartbeat check and tried again, on any worker of its queue. Everything the task
# itself raises fails it at once: the operator has already retried what deserves it
# (saber.execution._retry), so Airflow must not run a failed tool a second time.
LOST_TASK_RETRIES = 1
LOST_TASK_RETRY_DELAY = timedelta(seconds=5)


def _task_defaults() -> dict:
    return {"retries": LOST_TASK_RETRIES, "retry_delay": LOST_TASK_RETRY_DELAY,
            "retry_policy": ExceptionRetryPolicy(rules=[], default=RetryAction.FAIL),
            "trigger_rule": "none_failed"}


_SCALARS = {"int": "integer", "long": "integer", "float": "number", "double": "number",
            "string": "string", "boolean": "boolean", "File": "object", "Directory": "object",
            "null": "null"}


def json_schema(cwl_type) -> dict:
    """The JSON schema of a CWL type, for the Trigger form's Param."""
    if isinstance(cwl_type, list):
        kinds = [json_schema(t) for t in cwl_type]
        if all(set(k) == {"type"} and isinstance(k["type"], str) for k in kinds):
            return {"type": [k["type"] for k in kinds]}
        return {}
    if isinstance(cwl_type, dict):
        kind = cwl_type.get("type")
        if kind == "array":
            return {"type": "array"}
        if kind == "enum":
            return {"enum": [s.rsplit("/", 1)[-1].rsplit("#", 1)[-1] for s in cwl_type["symbols"]]}
        if kind == "record":
            return {"type": "object"}
        return {}
    return {"type": _SCALARS[cwl_type]} if cwl_type in _SCALARS else {}


def _param(inp: dict) -> Param:
    schema = json_schema(inp["type"])
    if "default" not in inp and isinstance(schema.get("type"), str):
        # A required input still needs a value in the form; null makes the form show it empty.
        schema["type"] = [schema["type"], "null"]
    return Param(inp.get("default"), description=inp.get("doc"), **schema)


def dag_from_plan(plan_path: str | Path, executor: Executor = "default") -> DAG:
    """The DAG for the plan at ``plan_path``: one task per CWL step, edges from data flow; each
    task's ``executor_config`` (and ``executor``) for the deployment's ``executor``."""
    plan = json.loads(Path(plan_path).read_text())
    with DAG(
        dag_id=plan["dag_id"],
        schedule=None,
        description=(plan.get("doc") or f"CWL workflow {plan['name']}")[:200],
        doc_md=f"CWL workflow `{plan['source']}`, compiled by saber.\n\n{plan.get('doc') or ''}",
        params={i["id"]: _param(i) for i in plan["inputs"]},
        tags=["saber", "cwl", *([PLAN_TAG + plan["digest"]] if plan.get("digest") else [])],
        default_args=_task_defaults(),
        render_template_as_native_obj=True,
    ) as dag:
        groups: dict[str, TaskGroup] = {}
        heads, tails = {}, {}
        for name in plan.get("mapped", {}):  # scattered subworkflows: helper, then mapped group
            helper = GroupScatterOperator(task_id=name.rpartition(".")[2] + SCATTER_SUFFIX, group=name, plan=plan,
                                          task_group=_group(groups, plan["mapped"][name]["group"]))
            heads[name + SCATTER_SUFFIX] = tails[name + SCATTER_SUFFIX] = helper
            groups[name] = _mapped_group(name, _group(groups, plan["mapped"][name]["group"]), helper)
        for step in plan["steps"]:
            group = _group(groups, step["group"])
            local = step["id"]
            res = step["resources"]
            # In the GPU pool a slot is a GPU (the pool has one per GPU of the workers); elsewhere a core.
            slots = max(1, int(res["gpus"])) if res["pool"] == "saber_gpu" else res["pool_slots"]
            kw = {"step": step, "plan": plan, "task_group": group, "pool_slots": slots,
                  "queue": res["queue"], "executor_config": executor_config(step, executor),
                  "doc_md": step.get("doc")}
            if res["pool"] != "default_pool":
                kw["pool"] = res["pool"]
            if task_executor(executor):
                kw["executor"] = task_executor(executor)
            if step["scatter"] and not step.get("inline_scatter"):
                prep = ScatterOperator(task_id=local + SCATTER_SUFFIX, step=step, plan=plan, task_group=group)
                task = CwlStepOperator.partial(task_id=local, **kw).expand(job=prep.output)
                heads[step["task_id"]], tails[step["task_id"]] = prep, task
            else:
                task = CwlStepOperator(task_id=local, **kw)
                heads[step["task_id"]] = tails[step["task_id"]] = task
        for step in plan["steps"]:
            refs = [s for rec in step["in"] for s in rec["sources"]]
            ups = plan_upstreams(plan, refs + _guard_refs(plan, step.get("guards", [])))
            if step.get("mapped_by"):  # every element's inputs come from the group's helper
                ups.add(step["mapped_by"] + SCATTER_SUFFIX)
            for up in sorted(ups - {step["task_id"]}):
                tails[up] >> heads[step["task_id"]]
        for name in plan.get("mapped", {}):
            refs = [s for key, rec in plan["ports"].items() if key.rpartition("/")[0] == name for s in rec["sources"]]
            for up in sorted(plan_upstreams(plan, refs + _guard_refs(plan, plan["mapped"][name]["guards"]))):
                tails[up] >> heads[name + SCATTER_SUFFIX]
    return dag


def _guard_refs(plan: dict, guards: list[dict]) -> list[str]:
    """The inputs a `when` of an enclosing subworkflow step reads: a task must wait for them."""
    return [f"port:{key}" for g in guards for key in plan["ports"] if key.rpartition("/")[0] == g["task"]]


def _mapped_group(name: str, parent: TaskGroup | None, helper) -> TaskGroup:
    """A task group mapped over the helper's list of per-element inputs (what
    ``@task_group(...).expand()`` builds). Its tasks read their element through the helper's
    XCom at their own map index, so the argument only gives the group its length. The edges
    from the helper to the group's tasks are set per task, once they exist."""
    from airflow.sdk.definitions._internal.expandinput import DictOfListsExpandInput
    from airflow.sdk.definitions.taskgroup import MappedTaskGroup

    group = MappedTaskGroup(group_id=name.rpartition(".")[2], parent_group=parent,
                            expand_input=DictOfListsExpandInput({"element": helper.output}))
    group.set_upstream(helper)  # what makes the helper record its list's length for mapping
    return group


def _group(groups: dict[str, TaskGroup], name: str | None) -> TaskGroup | None:
    if not name:
        return None
    if name not in groups:
        parent, _, local = name.rpartition(".")
        groups[name] = TaskGroup(group_id=local, parent_group=_group(groups, parent or None))
    return groups[name]


_TEMPLATE = '''"""Airflow DAG for the CWL workflow {name!r}, generated by saber {version}.

Source: {source}
The compiled plan ({plan_file}, digest {digest}) sits beside this file; regenerate both
with `saber dag`.
"""
from pathlib import Path

from saber.airflow import dag_from_plan

dag = dag_from_plan(Path(__file__).with_name({plan_file!r}){executor_arg})
'''


def write_dag_file(plan: dict, folder: Path, *, executor: Executor = "default") -> Path:
    """Write ``<dag_id>.py`` and ``<dag_id>.plan.json`` into ``folder``; return the DAG file.
    The executor is the deployment's, not the workflow's: it is named in the DAG file, so the
    plan (and its digest, which ``saber run --airflow`` compares) stays the same."""
    from saber import __version__

    check_executor(plan, executor)
    folder.mkdir(parents=True, exist_ok=True)
    plan["digest"] = plan_digest(plan)
    plan_file = f"{plan['dag_id']}.plan.json"
    # Plan first, then the DAG file, each replaced whole: a DAG processor parsing the folder
    # meanwhile sees the old pair or the new plan, never half a file.
    _replace(folder / plan_file, json.dumps(plan, indent=1, sort_keys=True))
    dag_file = folder / f"{plan['dag_id']}.py"
    _replace(dag_file, _TEMPLATE.format(name=plan["name"], version=__version__, source=plan["source"],
                                         plan_file=plan_file, digest=plan["digest"],
                                         executor_arg="" if executor == "default" else f", executor={executor!r}"))
    return dag_file


def _replace(path: Path, text: str) -> None:
    if path.exists() and path.read_text() == text:
        return  # unchanged: leave its mtime, so a DAG processor need not parse it again
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
