"""Making sure a deployment runs *this* plan: the DAG it has parsed carries the plan's digest
as a tag, so a stale DAG is told apart from a current one without reading its files."""

from __future__ import annotations

import logging
import os
import time
from datetime import datetime
from pathlib import Path

from saber.backends._poll import poll
from saber.backends.remote._client import AirflowClient
from saber.errors import SaberError
from saber.plan import PLAN_TAG

__all__ = ["await_plan", "check_deployed"]

log = logging.getLogger(__name__)


def _digest_of(dag: dict) -> str | None:
    """The plan digest a parsed DAG carries, None when it has no such tag."""
    names = [str(t.get("name", "")) if isinstance(t, dict) else str(t) for t in dag.get("tags") or []]
    return next((n[len(PLAN_TAG):] for n in names if n.startswith(PLAN_TAG)), None)


def check_deployed(client: AirflowClient, plan: dict) -> dict:
    """The DAG as the deployment has it, refused unless it is ``plan``'s: a run must never
    execute another version of the workflow."""
    dag_id, how = plan["dag_id"], f"write it with `saber dag {plan.get('source') or 'WORKFLOW'} -o <its dags folder>`"
    dag = client.dag(dag_id)
    if dag is None or dag.get("is_stale"):  # stale: its file is gone, Airflow will not run it
        raise SaberError(f"DAG {dag_id!r} is not deployed on {client.shown}: {how} or pass --dags-folder")
    if (digest := _digest_of(dag)) != plan["digest"]:
        which = f"plan {digest}" if digest else "no saber-plan tag"
        raise SaberError(f"the deployed DAG {dag_id!r} on {client.shown} runs another version of the workflow "
                         f"({which}, this one is {plan['digest']}): {how} or pass --dags-folder")
    if dag.get("has_import_errors"):
        raise SaberError(f"the deployed DAG {dag_id!r} on {client.shown} has import errors now "
                         f"({_import_error(client, dag_id) or 'see the Airflow UI'}): fix its dags folder")
    return dag


def await_plan(client: AirflowClient, plan: dict, dag_file: Path, *, timeout: float,
               sleep=time.sleep) -> dict:
    """Wait until the deployment has parsed ``dag_file`` (just written for ``plan``) and lists
    the DAG with the plan's tag; nudge its DAG processor when it still has an older version."""
    written = max(os.stat(p).st_mtime for p in (dag_file, dag_file.with_name(f"{plan['dag_id']}.plan.json")))
    seen: dict = {"dag": None, "nudged": False}

    def check() -> dict | None:
        dag = seen["dag"] = client.dag(plan["dag_id"])
        if dag is not None and _digest_of(dag) == plan["digest"] and not _broken(dag):
            return dag
        if dag is not None and not seen["nudged"] and dag.get("file_token"):
            # An older version is listed: its file is known, so it can be parsed now instead of
            # at the processor's next turn ([dag_processor] min_file_process_interval).
            seen["nudged"] = True
            client.reparse(dag["file_token"])
        if (error := _import_error(client, plan["dag_id"], since=written)) is not None:
            raise SaberError(f"Airflow at {client.shown} cannot load DAG {plan['dag_id']!r} from "
                             f"{dag_file.parent}: {error}")
        return None

    found = poll(check, timeout=timeout, first=0.5, most=5.0, sleep=sleep)
    if found is None:
        raise SaberError(f"Airflow at {client.shown} did not load DAG {plan['dag_id']!r} from {dag_file.parent} "
                         f"within {timeout:g} s: {_why_not(client, plan, seen['dag'])}")
    log.info("Airflow at %s has DAG %s with plan %s", client.shown, plan["dag_id"], plan["digest"])
    return found


def _broken(dag: dict) -> bool:
    """Listed, but Airflow would not run it: its file failed to import, or is gone (stale)."""
    return bool(dag.get("has_import_errors") or dag.get("is_stale"))


def _why_not(client: AirflowClient, plan: dict, dag: dict | None) -> str:
    if error := _import_error(client, plan["dag_id"]):
        return error
    if dag is None:
        return ("the DAG is not listed (is that folder its dags folder? a DAG processor looks for new files "
                "every [dag_processor] refresh_interval, 300 s by default)")
    if dag.get("has_import_errors"):
        return "the DAG has import errors (see the Airflow UI)"
    if dag.get("is_stale") and _digest_of(dag) == plan["digest"]:
        return "the DAG is stale: its DAG processor has not found the file again"
    return f"it still has plan {_digest_of(dag) or '(none)'} (this one is {plan['digest']})"


def _import_error(client: AirflowClient, dag_id: str, since: float | None = None) -> str | None:
    """The newest import error of the DAG's file (newer than ``since``, a local timestamp,
    when given: an older one may be about a version since replaced)."""
    for error in client.import_errors(f"{dag_id}.py"):
        if since is not None and _timestamp(error.get("timestamp")) < since:
            continue
        lines = [ln.strip() for ln in str(error.get("stack_trace", "")).splitlines() if ln.strip()]
        return f"parsing {error.get('filename')} failed: {lines[-1] if lines else 'no stack trace'}"
    return None


def _timestamp(text: str | None) -> float:
    try:
        return datetime.fromisoformat(str(text)).timestamp()
    except ValueError:
        return 0.0
