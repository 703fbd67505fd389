"""Fixtures for the unit tests: compiled plans of the CWL fixtures and DAGs imported from files."""

from __future__ import annotations

import copy
import importlib.util
import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

_counter = itertools.count()


@pytest.fixture(scope="session")
def _plans() -> dict[Path, dict]:
    return {}


@pytest.fixture
def plan_of(_plans: dict[Path, dict]) -> Callable[[Path], dict]:
    """Compile a CWL file once per session; each call gets its own copy to change freely."""
    from saber.cwl import build_plan, load_process

    def compile_(path: Path) -> dict:
        if path not in _plans:
            _plans[path] = build_plan(load_process(path), path=path)
        return copy.deepcopy(_plans[path])

    return compile_


@pytest.fixture
def import_dag(tmp_path: Path) -> Callable[[dict], object]:
    """Write a plan's DAG file with saber and import it as Airflow's DAG processor would."""
    from saber.airflow import write_dag_file

    def import_(plan: dict):
        dag_file = write_dag_file(plan, tmp_path / f"dags{next(_counter)}")
        spec = importlib.util.spec_from_file_location(f"saber_test_dag_{next(_counter)}", dag_file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.dag

    return import_
