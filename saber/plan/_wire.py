"""The run-conf wire format, shared by the run's producer (saber run, a backend, a hand-made
trigger) and its consumer (the step operator)."""

from __future__ import annotations

from saber.errors import InputError

__all__ = ["CONF_KEY", "STUDY_KEY", "check_conf", "conf_inputs", "run_conf", "unwire", "wire_safe"]

CONF_KEY = "__saber"  # saber's own part of a DAG run's conf: sweep id, point, step overrides
# The one key a person adds to a hand-triggered run's conf: the study its score is recorded in
# (default "<dag_id>-manual"). Runs saber makes name theirs in CONF_KEY's part.
STUDY_KEY = "saber_study"


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
    inputs = {k: v for k, v in conf.items() if k not in (CONF_KEY, STUDY_KEY)}
    inputs.update(unwire((conf.get(CONF_KEY) or {}).get("inputs", {})))
    return inputs


def check_conf(conf: dict, plan: dict) -> None:
    """A conf made for this DAG names only its workflow inputs (and saber's own part): a key that
    is no input is a typo that would otherwise be silently ignored."""
    known = [i["id"] for i in plan["inputs"]]
    unknown = sorted(k for k in conf if k not in (CONF_KEY, STUDY_KEY) and k not in known)
    unknown += sorted(k for k in (conf.get(CONF_KEY) or {}).get("inputs", {}) if k not in known)
    if unknown:
        raise InputError(f"the DAG run's conf names {', '.join(repr(k) for k in unknown)}, which "
                         f"{'is no input' if len(unknown) == 1 else 'are no inputs'} of workflow "
                         f"{plan['name']!r}; its inputs are: {', '.join(known) or '(none)'}",
                         field=unknown[0])
