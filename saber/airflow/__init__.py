"""DAG emission from a Plan and the operators that run CWL steps."""

from saber.airflow._dag import dag_from_plan, json_schema, write_dag_file
from saber.airflow._operator import CwlStepOperator, ScatterOperator

__all__ = [
    "CwlStepOperator",
    "ScatterOperator",
    "dag_from_plan",
    "json_schema",
    "write_dag_file",
]
