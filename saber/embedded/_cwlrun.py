"""`saber cwl-runner`: one CWL process and job through saber's real path, cwltest's contract.

The tool or workflow is compiled to a plan, emitted as an Airflow DAG, run as one DAG run by the
embedded runner (each step by saber's operator) and its output object is relocated into
``outdir`` the way cwltool does it. Every call gets a throw-away saber home, so parallel calls
(``cwltest -j N``) never share a database; the Airflow database is copied from a template
migrated once under ``$SABER_HOME/cache``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from saber.embedded._home import SaberHome
from saber.errors import SaberError, UnsupportedRequirement

__all__ = ["RunFailed", "run_cwl"]


class RunFailed(SaberError):
    """The DAG run finished, but not successfully (exit status 1, like cwltool)."""

    exit_code = 1


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


def _needs_docker(plan: dict) -> bool:
    for step in plan["steps"]:
        for req in [*step.get("requirements", []), *step.get("hints", []),
                    *step["tool"].get("requirements", []), *step["tool"].get("hints", [])]:
            if isinstance(req, dict) and req.get("class") == "DockerRequirement":
                return True
    return False


def run_cwl(process_ref: str, job: str | None, *, outdir: Path, workers: int | None = None,
            keep: bool = False, say: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Run ``process_ref`` (a .cwl path, optionally ``#id``) on ``job``; return the output object
    with its files moved into ``outdir``. Raises RunFailed, UnsupportedRequirement, SaberError."""
    from saber.embedded._reaper import Reaper

    base = SaberHome.from_env()
    scratch = Path(tempfile.mkdtemp(prefix="saber-cwl-"))
    os.environ.pop("SABER_STORAGE", None)  # run storage lives in the throw-away home too
    reaper = Reaper(scratch, remove=not keep)
    try:
        return _run(process_ref, job, outdir=outdir, workers=workers, home=SaberHome(scratch),
                    cache=base.root / "cache", say=say)
    finally:
        reaper.release()
        if keep:
            say(f"kept the run's saber home: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def _run(process_ref: str, job: str | None, *, outdir: Path, workers: int | None, home: SaberHome,
         cache: Path, say: Callable[[str], None]) -> dict[str, Any]:
    from saber.embedded._docker import check_docker
    from saber.embedded._runner import EmbeddedRunner, RunRequest
    from saber.execution._conf import run_conf

    home.activate(own=True)
    # As in `saber run`: cwltool's validation and Airflow's import overlap on two cores, and
    # cwltool's schema is parsed once, before the fork, for both processes.
    from saber.cwl import warm_schema

    warm_schema()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as child:
        compiled = child.submit(_compile, process_ref, job)
        home.ensure_database(template_dir=cache)
        from saber.airflow import write_dag_file

        plan, inputs, floats = compiled.result()
    from saber.execution._secrets import conceal_inputs, store_secrets

    inputs, plain = conceal_inputs(inputs, plan.get("secrets", []))
    store_secrets(plain)  # encrypted in Airflow; the run's conf carries references
    if _needs_docker(plan):
        check_docker()
    from saber.execution import preload_tool

    for step in plan["steps"]:
        preload_tool(step)
    dag_file = write_dag_file(plan, home.dags)
    run_id = f"cwl_{secrets.token_hex(4)}"
    say(f"DAG {plan['dag_id']}, run {run_id}")
    if workers is None and len(plan["steps"]) == 1 and not plan["steps"][0]["scatter"]:
        workers = 1  # one task to run: a second worker process would only be forked and set up
    runner = EmbeddedRunner(dag_file=dag_file, plan_path=dag_file.with_name(f"{plan['dag_id']}.plan.json"),
                            workers=workers)
    conf = run_conf(inputs, {"sweep_id": "cwl-runner", "point": 0, "params": {}, "step_inputs": {},
                             "floats": floats})
    state = runner.run([RunRequest(run_id=run_id, conf=conf)]).get(run_id, "failed")
    if state != "success":
        _raise_failure(plan, run_id, home)
    return _outputs(plan, run_id, inputs, outdir)


def _outputs(plan: dict, run_id: str, inputs: dict, outdir: Path) -> dict[str, Any]:
    """The run's output object, files moved into ``outdir`` with checksums, as cwltool does."""
    from airflow import settings
    from cwltool.process import relocateOutputs
    from cwltool.stdfsaccess import StdFsAccess
    from cwltool.mutation import MutationManager
    from cwltool.utils import visit_class, visit_files
    from schema_salad.ref_resolver import uri_file_path

    from saber.embedded._results import run_outputs
    from saber.execution import storage_root

    session = settings.Session()
    try:
        raw = run_outputs(plan, run_id, inputs, session)
    finally:
        session.close()
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


def _raise_failure(plan: dict, run_id: str, home: SaberHome) -> None:
    """One readable message: which steps failed and the end of their task logs."""
    from airflow import settings
    from airflow.models.taskinstance import TaskInstance

    from saber.embedded._failures import step_error

    session = settings.Session()
    try:
        failed = session.query(TaskInstance).filter_by(dag_id=plan["dag_id"], run_id=run_id,
                                                       state="failed").all()
        names = sorted({ti.task_id for ti in failed})
        unsupported = None
        parts = []
        for ti in failed:
            tail = step_error(home.airflow_home / "logs", plan["dag_id"], run_id, ti)
            if "UnsupportedRequirement" in tail:
                unsupported = tail
            parts.append(f"--- {ti.task_id}" + (f"[{ti.map_index}]" if ti.map_index >= 0 else "") + f"\n{tail}")
    finally:
        session.close()
    message = (f"the run failed in step(s) {', '.join(names)}" if names else "the run failed") + "\n" + "\n".join(parts)
    if unsupported:
        raise UnsupportedRequirement(message)
    raise RunFailed(message)
