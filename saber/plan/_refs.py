"""The reference grammars a plan and a run's conf use.

Plan references name where a value comes from: ``in:<workflow input>``, ``step:<task>/<output>``,
``port:<subworkflow task>/<input>``, ``out:<subworkflow task>/<output>``. A secret input's value
in a conf is ``$saber:secret:<variable key>``: the value itself lives in the backend's secret
store (an Airflow Variable).
"""

from __future__ import annotations

from typing import Any

__all__ = ["REF_PREFIX", "SCATTER_SUFFIX", "SECRETS_CLASS", "is_ref", "plan_upstreams", "secret_names"]

SCATTER_SUFFIX = "__scatter"  # task id suffix of a scattered step's helper (its jobs and shape)
SECRETS_CLASS = "http://commonwl.org/cwltool#Secrets"
REF_PREFIX = "$saber:secret:"


def plan_upstreams(plan: dict, refs: list[str]) -> set[str]:
    """Task ids a list of references depends on (ports and subworkflow outputs followed)."""
    found: set[str] = set()
    stack = list(refs)
    while stack:
        kind, _, rest = stack.pop().partition(":")
        if kind == "step":
            found.add(rest.rsplit("/", 1)[0])
        elif kind == "port":
            task = rest.rpartition("/")[0]
            if task in plan.get("mapped", {}):  # its scatter helper stands for the step's inputs
                found.add(task + SCATTER_SUFFIX)
            else:
                stack.extend(plan["ports"][rest]["sources"])
        elif kind == "out":
            stack.extend(plan["outports"][rest]["sources"])
    return found


def secret_names(*requirement_lists: list[dict]) -> list[str]:
    """The input names a cwltool:Secrets requirement or hint lists (ids shortened to names)."""
    names: list[str] = []
    for reqs in requirement_lists:
        for req in reqs or []:
            if req.get("class") in (SECRETS_CLASS, "cwltool:Secrets", "Secrets"):
                for ref in req.get("secrets") or []:
                    name = str(ref).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
                    if name not in names:
                        names.append(name)
    return names


def is_ref(value: Any) -> bool:
    """Is ``value`` a secret's reference (not its value)?"""
    return isinstance(value, str) and value.startswith(REF_PREFIX)
