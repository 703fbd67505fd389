"""The Plan: a compiled workflow as plain JSON data, the contract between compile time and run time.

``saber.cwl`` writes it once; the DAG file, the step operators and every backend read it. These
TypedDicts name the keys each stage relies on (a plan is a dict on disk and in memory; the types
are for readers and type checkers, not a validation layer).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, TypedDict

__all__ = ["PLAN_TAG", "PLAN_VERSION", "Link", "Output", "Param", "Plan", "Resources", "Step", "StepInput",
           "plan_digest"]

PLAN_VERSION = 1
PLAN_TAG = "saber-plan:"  # + the digest: the DAG tag telling which plan a deployment has parsed


class Param(TypedDict, total=False):
    id: str
    type: Any
    doc: str | None
    default: Any


class Link(TypedDict, total=False):
    """Where a value comes from: references (``in:x``, ``step:task/out``, ``port:``, ``out:``)."""

    sources: list[str]
    linkMerge: str | None
    pickValue: str | None


class StepInput(Link, total=False):
    id: str
    valueFrom: str | None
    type: Any
    loadContents: bool
    default: Any
    unwired: bool


class Output(Link, total=False):
    id: str
    type: Any
    doc: str | None


class Resources(TypedDict):
    pool: str
    pool_slots: int
    cores_declared: bool
    queue: str
    gpus: int


# The functional form: one key is "in", a Python keyword.
Step = TypedDict("Step", {
    "id": str,
    "task_id": str,
    "group": "str | None",
    "mapped_by": "str | None",
    "inline_scatter": bool,
    "toplevel": bool,
    "in": "list[StepInput]",
    "out": "list[str]",
    "scatter": "list[str]",
    "scatterMethod": "str | None",
    "when": "str | None",
    "guards": "list[dict[str, Any]]",
    "tool": "dict[str, Any]",
    "requirements": "list[dict[str, Any]]",
    "hints": "list[dict[str, Any]]",
    "resources": Resources,
    "saber": "dict[str, Any]",
    "score_format": "str | None",
    "retry": "dict[str, Any]",  # the step's own {"retries", "retry_delay"} (None: the run's default)
    "secrets": "list[str]",
}, total=False)


class Plan(TypedDict, total=False):
    version: int
    dag_id: str
    name: str
    source: str
    doc: str | None
    cwlVersion: str
    inputs: list[Param]
    outputs: list[Output]
    steps: list[Step]
    ports: dict[str, dict[str, Any]]
    outports: dict[str, dict[str, Any]]
    mapped: dict[str, dict[str, Any]]
    floats: dict[str, Any]
    secrets: list[str]
    digest: str


def plan_digest(plan: dict) -> str:
    """A short content hash of what a plan runs: two plans with one digest run the same DAG.

    ``source`` (the workflow's absolute path) is left out: the same workflow compiled in another
    checkout is the same DAG. ``write_dag_file`` stores it in the plan as ``digest`` and the DAG
    carries it as the tag ``saber-plan:<digest>``, so a client can tell which plan a deployment
    has parsed.
    """
    text = json.dumps({k: v for k, v in plan.items() if k not in ("source", "digest")}, sort_keys=True,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
