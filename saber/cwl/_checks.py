"""Checks of a compiled plan against what Airflow refuses later: task ids it cannot name (or
names twice) and input defaults its params reject. Found at compile time, each is an
InputError naming the file and line, not a traceback from the DAG file or the first run."""

from __future__ import annotations

import re
from typing import Any

from saber.cwl._types import coerce
from saber.errors import InputError
from saber.plan import SCATTER_SUFFIX

__all__ = ["MAX_TASK_ID", "check_defaults", "check_task_ids", "where"]

MAX_TASK_ID = 250  # Airflow's limit on a task id, the TaskGroup prefix included
# Airflow accepts any \w, but its task processes cannot send a non-ASCII id back to the
# supervisor (every step failed at run time with a UnicodeDecodeError).
_TASK_ID = re.compile(r"[A-Za-z0-9_.-]+", re.ASCII)


def where(node: Any, path: str) -> tuple[str, int | None]:
    """The file and 1-based line schema-salad read ``node`` from: ``path`` as the user gave it
    when it is that file, else an absolute path; ``path`` with no line when it does not know."""
    from pathlib import Path
    from urllib.parse import unquote

    lc = getattr(node, "lc", None)
    if lc is None or not getattr(lc, "filename", None) or lc.line is None:
        return path, None
    name = Path(unquote(lc.filename.removeprefix("file://"))).resolve()
    return (path if name == Path(path).resolve() else str(name)), lc.line + 1


def check_task_ids(plan: dict, nodes: dict[str, Any], path: str) -> None:
    """Every task id the DAG will have is ASCII, at most MAX_TASK_ID long, and unique (a step
    named ``x__scatter`` beside a scattered ``x`` would take its helper's id).

    ``nodes`` maps a step's task id to its step document (for the line).
    """
    ids: list[tuple[str, str, dict]] = []  # (Airflow task id, whose it is, the step to blame)
    for step in plan["steps"]:
        ids.append((step["task_id"], step["task_id"], step))
        if step["scatter"] and not step.get("inline_scatter"):
            ids.append((step["task_id"] + SCATTER_SUFFIX, step["task_id"], step))
    for name in plan.get("mapped", {}):  # a scattered subworkflow's helper
        inside = next((s for s in plan["steps"] if s["task_id"].startswith(name + ".")), None)
        if inside is not None:
            ids.append((name + SCATTER_SUFFIX, name, inside))
    owners: dict[str, str] = {}
    for task_id, owner, step in ids:
        file, line = where(nodes.get(step["task_id"]), path)
        error = _Blame(file, line, step["id"] if len(step["id"]) <= 60 else step["id"][:60] + "…")
        bad = sorted({c for c in task_id if not _TASK_ID.fullmatch(c)})
        if bad:
            raise error(f"step id '{step['id']}' has {', '.join(repr(c) for c in bad)}: Airflow task ids "
                        f"take only ASCII letters, digits, '_', '-' and '.', so rename the step")
        if len(task_id) > MAX_TASK_ID:
            raise error(f"step id '{step['id'][:40]}…' makes a task id {len(task_id)} characters long, "
                        f"more than Airflow's {MAX_TASK_ID}: use a shorter step id")
        first = owners.setdefault(task_id, owner)
        if first != owner:
            scattered, named = sorted((first, owner), key=len)
            raise error(f"step '{named}' has the task id saber gives the scatter helper of step "
                        f"'{scattered}': rename the step")


class _Blame:
    """Makes the InputErrors of one step's place."""

    def __init__(self, file: str, line: int | None, field: str) -> None:
        self.file, self.line, self.field = file, line, field

    def __call__(self, message: str) -> InputError:
        return InputError(message, file=self.file, line=self.line, field=self.field)


_SCALARS = ("int", "long", "float", "double", "string", "boolean")


def check_defaults(process, plan: dict, path: str) -> None:
    """A workflow input's default must fit its type: Airflow checks it as a DAG param before a
    run starts, with a traceback."""
    docs = {inp["id"]: inp for inp in plan["inputs"]}
    for raw in process.tool["inputs"]:
        name = raw["id"].rsplit("#", 1)[-1].rsplit("/", 1)[-1]
        inp = docs.get(name)
        kinds = [t for t in (inp["type"] if isinstance(inp["type"], list) else [inp["type"]]) if t != "null"] \
            if inp is not None else []
        # Only scalars: other types' params are not checked by value (and cwltool checks files).
        if inp is None or inp.get("default") is None or len(kinds) != 1 or kinds[0] not in _SCALARS:
            continue
        file, line = where(raw, path)
        coerce(inp["default"], inp["type"], file=file, line=line, field=f"{name}.default")
