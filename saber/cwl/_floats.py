"""Floats as they were written in YAML, carried through saber's JSON plan and run conf.

cwltool puts a float read from YAML on the command line as written, in decimal notation
(`1.23e5` becomes `123000`, `0.00001` stays `0.00001`); a plain Python float would print as
`123000.0` or `1e-05`. JSON keeps only the number, so the written forms travel beside it, as a
table from the float's repr to its YAML text, and are put back just before cwltool sees the
values. (CWL conformance: very_big_and_very_floats_nojs.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["float_texts", "restore_floats"]


def float_texts(*docs: Any) -> dict[str, str]:
    """repr(float) -> YAML text, for every float read from YAML in ``docs``."""
    from ruamel.yaml.representer import RoundTripRepresenter
    from ruamel.yaml.scalarfloat import ScalarFloat

    rep = RoundTripRepresenter()
    table: dict[str, str] = {}

    def walk(value: Any) -> None:
        if isinstance(value, ScalarFloat):
            table[repr(float(value))] = rep.represent_scalar_float(value).value
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for doc in docs:
        walk(doc)
    return table


def restore_floats(value: Any, table: Mapping[str, str]) -> Any:
    """``value`` with each plain float found in ``table`` turned back into its YAML float."""
    if not table:
        return value
    if type(value) is float:
        text = table.get(repr(value))
        return _yaml_float(text) if text is not None else value
    if isinstance(value, list):
        return [restore_floats(v, table) for v in value]
    if isinstance(value, dict):
        return {k: restore_floats(v, table) for k, v in value.items()}
    return value


def _yaml_float(text: str):
    from ruamel.yaml import YAML

    return YAML().load(text)
