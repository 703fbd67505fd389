"""CWL job files (base inputs): typed against the workflow's inputs, paths made absolute."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from saber._yaml import key_line, plain, read_yaml
from saber.cwl._types import coerce, type_name
from saber.errors import InputError

__all__ = ["load_job", "check_inputs", "absolute_locations"]


def load_job(path: Path, plan: dict) -> dict[str, Any]:
    """Read a job file; every value is checked against the workflow input it names."""
    doc = read_yaml(path, "job file")
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InputError("a job file must be a mapping of input names to values", file=str(path), line=1)
    types = {i["id"]: i["type"] for i in plan["inputs"]}
    job: dict[str, Any] = {}
    for key in doc:
        line = key_line(doc, key)
        if key not in types:
            raise InputError(f"'{key}' is not an input of the workflow (inputs: {', '.join(types)})",
                             file=str(path), line=line, field=str(key))
        value = coerce(plain(doc[key]), types[key], file=str(path), line=line, field=str(key))
        job[key] = absolute_locations(value, path.parent)
    return job


def check_inputs(job: dict, plan: dict, *, file: str | None = None) -> None:
    """Every required workflow input (no default, not optional) must have a value."""
    for inp in plan["inputs"]:
        optional = "default" in inp or _nullable(inp["type"])
        if not optional and job.get(inp["id"]) is None:
            hint = "" if file else "; give it in a job file with --job"
            if inp["id"] in plan.get("secrets", []):
                env = ("$BOSSDB_TOKEN or " if inp["id"] == "token" else "") + f"$SABER_SECRET_{inp['id'].upper()}"
                hint = f"; it is a secret: give it in the job file or in {env}"
            raise InputError(f"required input '{inp['id']}' ({type_name(inp['type'])}) has no value" + hint,
                             file=file, field=inp["id"])


def _nullable(cwl_type: Any) -> bool:
    return cwl_type == "null" or (isinstance(cwl_type, list) and "null" in cwl_type)


def absolute_locations(value: Any, base: Path) -> Any:
    """File/Directory paths relative to the job file become absolute file:// locations."""
    if isinstance(value, list):
        return [absolute_locations(v, base) for v in value]
    if isinstance(value, dict):
        value = {k: absolute_locations(v, base) for k, v in value.items()}
        if value.get("class") in ("File", "Directory"):
            ref = value.pop("path", None) or value.get("location")
            if ref and "://" not in ref:
                value["location"] = (base / ref).resolve().as_uri()
            elif ref:
                value["location"] = ref
        return value
    return value


def cwl_job_order(process, job: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The job order exactly as the reference runner prepares it for ``process``.

    cwltool's own code reads the job file (relative locations, file literals, ``format``
    namespaces), fills in defaults and validates it against the process's input schema; for a
    Workflow it also loads contents and finds secondaryFiles of the workflow inputs. Errors are
    cwltool's (ValidationException, WorkflowException). Returns the job as plain JSON data and
    the written forms of its YAML floats (saber.cwl._floats).
    """
    import argparse
    import io
    import json

    from cwltool.context import RuntimeContext
    from cwltool.main import init_job_order, load_job_order
    from cwltool.workflow import Workflow

    tool_uri = process.tool["id"]
    args = argparse.Namespace(job_order=[job] if job else [], basedir=None, workflow=tool_uri, tool_help=False)
    obj, basedir, loader = load_job_order(args, io.StringIO(), None, [], tool_uri)
    if obj is None:
        args.job_order = []  # no job file: every input must have a default or be optional
    job_order = init_job_order(obj, args, process, loader, io.StringIO(), input_basedir=basedir)
    ctx = RuntimeContext({"basedir": basedir, "toplevel": True})
    builder = process._init_job(job_order, ctx)  # validates; raises on a bad job
    if isinstance(process, Workflow):
        job_order = builder.job
    from saber.cwl._floats import float_texts

    return json.loads(json.dumps(job_order, default=str)), float_texts(job_order)
