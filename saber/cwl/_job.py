"""CWL job files (base inputs): typed against the workflow's inputs, paths made absolute."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from saber._yaml import key_line, plain, read_yaml
from saber.cwl._types import coerce, type_name
from saber.errors import InputError

__all__ = ["load_job", "job_floats", "warn_ignored_keys", "check_inputs", "absolute_locations"]

log = logging.getLogger(__name__)


def load_job(path: Path, plan: dict) -> dict[str, Any]:
    """Read a job file; every value is checked against the workflow input it names.

    Keys that name no workflow input are dropped, as cwltool drops them: SABER's job files carry
    their own (`_saber_bucket`) and one job file often serves several workflows. The caller
    says so once with ``warn_ignored_keys``; a typo in a sweep is still an error (saber.sweep).
    """
    doc = _read_job(path)
    types = {i["id"]: i["type"] for i in plan["inputs"]}
    job: dict[str, Any] = {}
    for key in doc:
        if key not in types:
            continue
        line = key_line(doc, key)
        value = coerce(plain(doc[key]), types[key], file=str(path), line=line, field=str(key))
        job[key] = absolute_locations(value, path.parent)
    check_locations(job, doc, path)
    return job


def warn_ignored_keys(path: Path, plan: dict) -> list[str]:
    """Log one warning naming the job file's keys that are no workflow input; returns them."""
    doc, inputs = _read_job(path), [i["id"] for i in plan["inputs"]]
    ignored = [str(key) for key in doc if key not in inputs]
    if ignored:
        first = key_line(doc, ignored[0])
        one = len(ignored) == 1
        log.warning("%s: ignoring job %s %s, which %s of workflow %s (inputs: %s), as cwltool does",
                    f"{path}:{first}" if first else path, "key" if one else "keys",
                    ", ".join(repr(k) for k in ignored), "is no input" if one else "are no inputs",
                    plan["name"], ", ".join(inputs) or "none")
    return ignored


def job_floats(path: Path) -> dict[str, str]:
    """The job file's floats as written (saber.cwl._floats), so that a tool's command line shows
    `2.50` or `1e-05` just as cwltool shows them."""
    from saber.cwl._floats import float_texts

    return float_texts(_read_job(path))


def _read_job(path: Path) -> dict:
    doc = read_yaml(path, "job file")
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InputError("a job file must be a mapping of input names to values", file=str(path), line=1)
    return doc


def check_locations(job: dict[str, Any], doc: Any, path: Path) -> None:
    """Every local File and Directory of a job must exist and be of its class: found now, not
    when the step that reads it fails after containers started."""
    from urllib.parse import unquote, urlparse

    for key, value in job.items():
        for item in _files(value):
            location = item.get("location")
            if not isinstance(location, str) or not location.startswith("file://"):
                continue  # a file literal (contents), or a remote location the runner fetches
            local = Path(unquote(urlparse(location).path))
            kind = item["class"]
            problem = (None if (local.is_file() if kind == "File" else local.is_dir())
                       else "is a directory, not a File" if local.is_dir()
                       else "is a file, not a Directory" if local.exists()
                       else "does not exist")
            if problem:
                raise InputError(f"{kind} {local} {problem}", file=str(path),
                                 line=key_line(doc, key), field=str(key))


def _files(value: Any):
    """Every File or Directory mapping in ``value`` (secondaryFiles and listings included)."""
    if isinstance(value, list):
        for v in value:
            yield from _files(v)
    elif isinstance(value, dict):
        if value.get("class") in ("File", "Directory"):
            yield value
        for v in value.values():
            if isinstance(v, (list, dict)):
                yield from _files(v)


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
