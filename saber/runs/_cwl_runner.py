"""`saber cwl-runner`: one CWL process and job through saber's real path, cwltest's contract.

The tool or workflow is compiled to a plan, made a DAG on the backend, run as one DAG run (each
step by saber's operator) and its output object is relocated into ``outdir`` the way cwltool
does it. The backend must share its run storage with this process (the CLI gives every call a
throw-away embedded home, so parallel calls, ``cwltest -j N``, never share a database).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from saber._phases import mark
from saber.backends import Backend, RunOutcome, RunRequest
from saber.errors import RunFailed, SaberError, UnsupportedRequirement
from saber.runs._boot import boot

__all__ = ["run_cwl", "warm_up"]


def _compile(process_ref: str, job: str | None) -> tuple[dict, dict, dict]:
    """In a forked child: load and validate with cwltool, compile the plan, prepare the job."""
    from saber.cwl import build_plan, load_process
    from saber.cwl._job import cwl_job_order

    process = load_process(process_ref)
    plan = build_plan(process, path=Path(process_ref.partition("#")[0] if "#" in process_ref
                                         and not Path(process_ref).exists() else process_ref))
    try:
        inputs, floats = cwl_job_order(process, job)
    except SystemExit as e:  # cwltool's argparse, when a required input has no value
        raise SaberError(f"{job or 'the job'}: required inputs are missing") from e
    except Exception as e:  # cwltool's exceptions do not all survive pickling: keep the text
        raise SaberError(f"{job or 'the job'}: {e}") from None
    _apply_job_requirements(plan, inputs.pop(_JOB_REQUIREMENTS, None))
    return plan, inputs, floats


_JOB_REQUIREMENTS = "https://w3id.org/cwl/cwl#requirements"

_WARM_TOOL = """\
cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
inputs: {x: {type: int, inputBinding: {position: 1}}}
outputs: {out: stdout}
"""


def warm_up() -> None:
    """Load, validate, compile and load for running a tiny tool once, in a process that forks
    the calls later (a warm server): the first of each in a process costs about a second in
    all (cwltool's lazily built caches), which every later call then finds done."""
    import tempfile

    from saber.execution import preload_tool

    with tempfile.TemporaryDirectory(prefix="saber-warm-") as tmp:
        tool, job = Path(tmp) / "warm.cwl", Path(tmp) / "job.yml"
        tool.write_text(_WARM_TOOL)
        job.write_text("x: 1\n")
        plan, _, _ = _compile(str(tool), str(job))
        for step in plan["steps"]:
            preload_tool(step)


def _apply_job_requirements(plan: dict, requirements: list | None) -> None:
    """`cwl:requirements` in a job order (CWL 1.1+) apply to every step's tool and override the
    tool's own, as cwltool's executor does by appending them to the process's requirements."""
    if not requirements:
        return
    if plan.get("cwlVersion") == "v1.0":
        raise SaberError("`cwl:requirements` in the input object is not part of CWL v1.0")
    for step in plan["steps"]:
        step["tool"]["requirements"] = [*step["tool"].get("requirements", []), *requirements]
        step["requirements"] = [*step["requirements"], *requirements]


def run_cwl(process_ref: str, job: str | None, *, outdir: Path, backend: Backend,
            say: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Run ``process_ref`` (a .cwl path, optionally ``#id``) on ``job``; return the output object
    with its files moved into ``outdir``. Raises RunFailed, UnsupportedRequirement, SaberError."""
    from saber.execution._secrets import conceal_inputs, new_scope, variable_key
    from saber.plan import run_conf
    from saber.runs._batch import close_backend, run_batch

    if not backend.capabilities.shared_storage:
        raise SaberError(f"saber cwl-runner needs a backend whose outputs it can read; {backend.name} has none")
    scope, stored = new_scope(), []
    try:
        plan, inputs, floats = boot(backend, _compile, process_ref, job)
        backend.prepare(plan)
        known = {i["id"] for i in plan["inputs"]}
        inputs = {k: v for k, v in inputs.items() if k in known}  # cwltool ignores a job's other keys
        inputs, plain = conceal_inputs(inputs, plan.get("secrets", []), scope=scope)
        if plain:  # kept in the backend's secret store; the run's conf carries references
            values = {variable_key(v, scope=scope): v for v in plain}
            stored = list(values)
            backend.store_secrets(values)
        run_id = f"cwl_{secrets.token_hex(4)}"
        say(f"DAG {plan['dag_id']}, run {run_id}")
        # One run in a throw-away home: a step cache there could never be hit again.
        conf = run_conf(inputs, {"sweep_id": "cwl-runner", "point": 0, "params": {}, "step_inputs": {},
                                 "floats": floats, "cache": False})
        state = run_batch(backend, [RunRequest(run_id=run_id, conf=conf)]).get(run_id, "failed")
        if state != "success":
            _raise_failure(backend.outcome(run_id))
        outputs = _relocate(backend.outputs(run_id), outdir)
        mark("outputs")
        return outputs
    finally:
        close_backend(backend, stored)


def _relocate(raw: dict[str, Any], outdir: Path) -> dict[str, Any]:
    """The run's output object, files moved into ``outdir`` with checksums, as cwltool does."""
    from cwltool.mutation import MutationManager
    from cwltool.process import relocateOutputs
    from cwltool.stdfsaccess import StdFsAccess
    from cwltool.utils import visit_class, visit_files
    from schema_salad.ref_resolver import uri_file_path

    from saber.home import storage_root

    outdir.mkdir(parents=True, exist_ok=True)
    out = relocateOutputs(raw, str(outdir.resolve()), {str(storage_root())}, "move", StdFsAccess(""), True)

    def loc_to_path(obj: dict) -> None:
        for key in ("path", "nameext", "nameroot", "dirname"):
            obj.pop(key, None)
        if obj["location"].startswith("file://"):
            obj["path"] = uri_file_path(obj["location"])

    visit_class(out, ("File", "Directory"), loc_to_path)
    visit_files(out, MutationManager().unset_generation)
    return json.loads(json.dumps(out, default=str))


def _raise_failure(outcome: RunOutcome) -> None:
    """One readable message: which steps failed and the end of their task logs."""
    names = sorted({label.partition("[")[0] for label in outcome.failures})
    parts = [f"--- {label}\n{tail}" for label, tail in outcome.failures.items()]
    message = (f"the run failed in step(s) {', '.join(names)}" if names else "the run failed") + "\n" + "\n".join(parts)
    if any("UnsupportedRequirement" in tail for tail in outcome.failures.values()):
        raise UnsupportedRequirement(message)
    raise RunFailed(message)
