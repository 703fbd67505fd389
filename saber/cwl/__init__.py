"""Loading CWL with cwltool and compiling it into a Plan (plain JSON data)."""

from saber.cwl._load import load_process, loading_context, warm_schema
from saber.cwl._plan import build_plan, dag_id_for, short_id

__all__ = [
    "build_plan",
    "dag_id_for",
    "load_process",
    "loading_context",
    "short_id",
    "warm_schema",
]
