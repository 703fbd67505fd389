"""Loading CWL with cwltool and compiling it into a Plan (plain JSON data)."""

from saber.cwl._load import load_process, loading_context, warm_schema
from saber.cwl._plan import PLAN_VERSION, build_plan, dag_id_for, plan_upstreams, short_id

__all__ = [
    "PLAN_VERSION",
    "build_plan",
    "dag_id_for",
    "load_process",
    "loading_context",
    "plan_upstreams",
    "short_id",
    "warm_schema",
]
