"""The DAG file saber writes: the plan beside it, and an import that needs no cwltool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

CWL = Path(__file__).resolve().parents[1] / "data" / "cwl"
PlanOf = Callable[[Path], dict]  # the plan_of fixture (tests/unit/conftest.py)


def test_dag_file_reads_the_plan_beside_it(plan_of: PlanOf, tmp_path: Path) -> None:
    from saber.airflow import write_dag_file

    plan = plan_of(CWL / "scatter_wf.cwl")
    dag_file = write_dag_file(plan, tmp_path / "dags")
    assert dag_file == tmp_path / "dags" / f"{plan['dag_id']}.py"
    assert json.loads(dag_file.with_name(f"{plan['dag_id']}.plan.json").read_text()) == plan
    assert "cwltool" not in dag_file.read_text()


_FRESH_IMPORT = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("dagmod", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(sorted(t.task_id for t in module.dag.tasks))
print("cwltool" in sys.modules)
"""


def test_dag_file_imports_without_cwltool(plan_of: PlanOf, tmp_path: Path) -> None:
    from saber.airflow import write_dag_file

    dag_file = write_dag_file(plan_of(CWL / "scatter_wf.cwl"), tmp_path / "dags")
    # The session's SABER_HOME and AIRFLOW_HOME (tests/conftest.py) travel in os.environ.
    assert {"SABER_HOME", "AIRFLOW_HOME"} <= set(os.environ)
    out = subprocess.run([sys.executable, "-c", _FRESH_IMPORT, str(dag_file)], capture_output=True,
                         text=True, env=dict(os.environ), timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["['join', 'shout', 'shout__scatter']", "False"]
