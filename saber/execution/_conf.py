"""Names shared by the run's producer (saber run) and its consumer (the step operator)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CONF_KEY", "SCATTER_SUFFIX", "conf_inputs", "run_conf", "storage_root", "unwire", "wire_safe"]

CONF_KEY = "__saber"  # saber's own part of a DAG run's conf: sweep id, point, step overrides
SCATTER_SUFFIX = "__scatter"  # task id suffix of a scattered step's helper (its jobs and shape)


def storage_root() -> Path:
    """Where step outputs live: $SABER_STORAGE, else $SABER_HOME/storage (~/.saber/storage)."""
    if root := os.environ.get("SABER_STORAGE"):
        return Path(root)
    return Path(os.environ.get("SABER_HOME", Path.home() / ".saber")) / "storage"


_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1
_BIG = "$saber:int"  # {"$saber:int": "4200000000000000000000000000000000000000000"}


def wire_safe(value):
    """``value`` as Airflow can carry it in a run's conf and in XCom: its serializer (msgspec)
    refuses integers beyond 64 bits, which CWL allows (a `long` or `double` written without a
    decimal point). Those travel as ``{"$saber:int": "<digits>"}``; ``unwire`` restores them."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if _INT_MIN <= value <= _INT_MAX else {_BIG: str(value)}
    if isinstance(value, list):
        return [wire_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: wire_safe(v) for k, v in value.items()}
    return value


def unwire(value):
    """The inverse of ``wire_safe``, for values read back from conf, params or XCom."""
    if isinstance(value, list):
        return [unwire(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1 and _BIG in value:
            return int(value[_BIG])
        return {k: unwire(v) for k, v in value.items()}
    return value


def run_conf(inputs: dict, saber: dict) -> dict:
    """A DAG run's conf: the workflow inputs at the top (Airflow checks them against the DAG's
    params), saber's own part under CONF_KEY. An input holding an integer beyond 64 bits cannot
    be a top-level value (neither the params schema nor the wire format takes the wrapped
    form), so it travels wrapped inside saber's part instead."""
    plain, wrapped = {}, {}
    for key, value in inputs.items():
        safe = wire_safe(value)
        (plain if safe == value else wrapped)[key] = safe
    return {**plain, CONF_KEY: {**saber, **({"inputs": wrapped} if wrapped else {})}}


def conf_inputs(conf: dict) -> dict:
    """The workflow inputs a run's conf carries (the inverse of ``run_conf``)."""
    inputs = {k: v for k, v in conf.items() if k != CONF_KEY}
    inputs.update(unwire((conf.get(CONF_KEY) or {}).get("inputs", {})))
    return inputs
