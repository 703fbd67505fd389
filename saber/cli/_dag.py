"""saber dag WORKFLOW.cwl -o DIR"""

from __future__ import annotations

import argparse
from pathlib import Path

# saber.airflow._executors.EXECUTORS, spelled out: importing saber.airflow here would import Airflow
# for every command's --help.
EXECUTORS = ("default", "kubernetes", "aws-batch")

HELP = """Compile WORKFLOW into an Airflow DAG file plus its plan (JSON) in DIR. Dropping both
files into an Airflow dags folder is all it takes (saber must be installed where the tasks run)."""

EXAMPLES = """example:
  saber dag workflows/blob_count.cwl -o ~/airflow/dags
  saber dag workflows/blob_count.cwl -o dags/ --executor kubernetes   # pod_override per task"""


def add_parser(sub) -> None:
    p = sub.add_parser("dag", help="write the Airflow DAG file for a workflow", description=HELP,
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("workflow", type=Path, help="CWL Workflow or CommandLineTool")
    p.add_argument("-o", "--output", type=Path, required=True, help="folder for the DAG file and plan")
    p.add_argument("--executor", choices=EXECUTORS, default="default",
                   help="size each task for this executor of the deployment: kubernetes (a pod_override) "
                        "or aws-batch (submit_job resourceRequirements); default: pools and queues only")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from saber.runs import compile_workflow

    plan = compile_workflow(args.workflow)
    from saber.airflow import write_dag_file

    dag_file = write_dag_file(plan, args.output, executor=args.executor)
    print(f"{dag_file}\n{dag_file.with_name(plan['dag_id'] + '.plan.json')}")
    return 0
