"""What a step's requirements and hints mean to saber: its resources (pool slots, GPUs, queue)
and saber's own hints (`score_format`, `queue`), checked at compile time."""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["CUDA", "SABER_NS", "SABER_HINT_KEYS", "resources", "retry_policy", "saber_hints", "score_format",
           "warn_unknown_hints"]

_log = logging.getLogger(__name__)

CUDA = "http://commonwl.org/cwltool#CUDARequirement"
SABER_HINT_KEYS = ("score_format", "queue", "retries", "retry_delay")  # what a `saber:` hint may hold
SABER_NS = "https://saber.dev/cwl#"
_SABER_HINT = re.compile(r"^(?:https?://[^#]*#|saber:)(?P<key>[\w-]+)$")


def _json(value: Any) -> Any:
    """ruamel CommentedMaps -> plain JSON data."""
    return json.loads(json.dumps(value, default=str))


def _find(reqs: list[dict], cls: str) -> dict | None:
    """The most specific requirement wins: cwltool lists inherited ones first, the tool's last."""
    return next((r for r in reversed(reqs) if r.get("class") in (cls, cls.rsplit("#", 1)[-1])), None)


def _number(value: Any, default: float) -> float:
    """ResourceRequirement values may be expressions; those are known only at run time."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def resources(requirements: list[dict], hints: list[dict]) -> dict:
    """Requirements win over hints; cores decide pool slots, CUDA decides the GPU queue."""
    rr = _find(requirements, "ResourceRequirement") or _find(hints, "ResourceRequirement") or {}
    cuda = _find(requirements, CUDA) or _find(hints, CUDA)
    saber = saber_hints(requirements + hints)
    cores = _number(rr.get("coresMin", rr.get("coresMax")), 1.0)
    ram = _number(rr.get("ramMin", rr.get("ramMax")), 256.0)
    gpus = 0
    if cuda:
        gpus = int(_number(cuda.get("cudaDeviceCountMin", cuda.get("cudaDeviceCount")), 1))
    queue = saber.get("queue") or ("gpu" if cuda else "default")
    return {
        "cores": cores,
        # Declared cores bound the step to the machine's; undeclared (CWL's default of 1) it may
        # also start on idle CPU beyond them (the embedded runner's elastic default).
        "cores_declared": "coresMin" in rr or "coresMax" in rr,
        "ram_mb": ram,
        "pool_slots": max(1, math.ceil(cores)),
        "gpus": gpus,
        "cuda": _json(cuda) if cuda else None,
        "queue": queue,
        "pool": "saber_gpu" if queue == "gpu" else "default_pool",
    }


def saber_hints(items: list[dict]) -> dict:
    """``hints: saber: {score_format: ...}`` arrives as a class-less mapping or namespaced keys;
    a later item (the tool's own, after inherited ones) wins."""
    return {name: item[key] for item, key, name in _saber_entries(items)}


def _saber_entries(items: list[dict]) -> Iterator[tuple[dict, str, str]]:
    """(item, key in item, hint name) for every saber hint in ``items``, in order."""
    for item in items:
        cls = str(item.get("class", ""))
        # Without `$namespaces: {saber: ...}` the class-less `saber:` mapping has its class
        # resolved against the document: file:///.../saber.
        if (cls in ("saber", "saber:Hints", SABER_NS + "Hints") or cls.startswith(SABER_NS)
                or (cls.startswith("file://") and cls.endswith("/saber"))):
            yield from ((item, k, k) for k in item if k != "class")
        for key in item:
            if (m := _SABER_HINT.match(str(key))) and "saber" in str(key):
                yield item, key, m.group("key")


def score_format(step, text: Any) -> str | None:
    """The step's ``score_format``, checked now: a bad one fails at compile time, at its line."""
    if text is None:
        return None
    from saber.scores import check_score_format

    tool = step.embedded_tool
    places = [(item, key) for item, key, name in _saber_entries([*tool.requirements, *tool.hints])
              if name == "score_format"]
    file, line = (_place(*places[-1]) if places else None) or _place(step.tool, None) or (None, None)
    check_score_format(text, file=file, line=line)
    return text


def retry_policy(step, saber: dict) -> dict:
    """The step's own ``retries`` (tries again after a failure, any failure) and ``retry_delay``
    (seconds), checked now, at their line; None where the step says nothing (the run's default
    then applies: one more try after an infrastructure failure)."""
    from saber._duration import seconds
    from saber.errors import InputError

    tool = step.embedded_tool
    policy: dict = {"retries": None, "retry_delay": None}
    for name in policy:
        if name not in saber:
            continue
        places = [(item, key) for item, key, n in _saber_entries([*tool.requirements, *tool.hints]) if n == name]
        file, line = (_place(*places[-1]) if places else None) or _place(step.tool, None) or (None, None)
        value = saber[name]
        if name == "retries":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InputError(f"saber hint retries must be an int >= 0, got {value!r}", file=file, line=line,
                                 field="retries")
            policy[name] = int(value)
        else:
            found = seconds(value, zero=True)
            if found is None:
                raise InputError(f"saber hint retry_delay must be a duration like 30s or 2m, got {value!r}",
                                 file=file, line=line, field="retry_delay")
            policy[name] = found
    return policy


def warn_unknown_hints(step) -> None:
    """A key of a `saber:` hint that saber does not know (a typo, or `retries` from a newer
    saber) would be ignored without a word: say so, once per step, at its line."""
    tool = step.embedded_tool
    for item, key, name in _saber_entries([*tool.requirements, *tool.hints]):
        if name not in SABER_HINT_KEYS:
            file, line = _place(item, key) or _place(step.tool, None) or ("", None)
            _log.warning("saber: %s%s: warning: unknown key '%s' in the saber hint is ignored (known: %s)",
                         file, f":{line}" if line else "", name, ", ".join(SABER_HINT_KEYS))


def _place(node: Any, key: str | None) -> tuple[str, int] | None:
    """Where schema-salad read ``node`` (or its ``key``): an existing file and a 1-based line."""
    lc = getattr(node, "lc", None)
    if lc is None or not lc.filename or lc.line is None:
        return None
    name = lc.filename.removeprefix("file://")
    if not Path(name).is_file():  # a document saber built itself (a tool given alone)
        return None
    at = lc.data.get(key) if key is not None else None
    return str(Path(name).resolve()), (at[0] if at else lc.line) + 1
