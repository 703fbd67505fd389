"""Checking user-supplied values against CWL types, as cwltool gives them after loading.

Types arrive as cwltool leaves them: primitive names ("int", "File", …), lists for unions,
and dicts for array, enum and record schemas whose symbol and field names may be full URIs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from saber.errors import InputError

__all__ = ["coerce", "type_name"]

# CWL's int and long are Avro's: schema-salad rejects values outside these bounds, so do we,
# before a tool fails half-way through a sweep.
_INT_RANGE = (-(2**31), 2**31 - 1)
_LONG_RANGE = (-(2**63), 2**63 - 1)
_PRIMITIVES = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "string", "File", "Directory", "Any"})


class _Mismatch(Exception):
    """Internal: the value does not fit; `reason` is the part after "expected …, got"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def coerce(value: Any, cwl_type: Any, *, file: str | None = None, line: int | None = None,
           field: str | None = None) -> Any:
    """Return `value` converted to `cwl_type`, or raise InputError saying expected vs got.

    Ints are accepted for float/double and stay ints, as cwltool keeps them: an int job value
    1 is `1` on the tool's command line, not `1.0`. Nothing else is widened: a bool is not an
    int and 2.0 is not an int. File and Directory need a `{class: …, path|location}`
    mapping. Containers in the result are new plain dicts and lists, never the caller's.
    """
    try:
        return _coerce(value, cwl_type)
    except _Mismatch as e:
        raise InputError(e.reason, file=file, line=line, field=field) from None


def type_name(cwl_type: Any) -> str:
    """A short readable name for a CWL type: "int", "float[]", "int?", "int | string"."""
    if isinstance(cwl_type, str):
        return _short(cwl_type)
    if isinstance(cwl_type, list):
        others = [t for t in cwl_type if t != "null"]
        if not others:
            return "null"
        name = " | ".join(type_name(t) for t in others)
        if len(cwl_type) == len(others):
            return name
        return f"{name}?" if len(others) == 1 else f"({name})?"
    if isinstance(cwl_type, Mapping):
        kind = cwl_type.get("type")
        if kind == "array":
            item = type_name(cwl_type.get("items"))
            return f"({item})[]" if (" " in item or item.endswith("?")) else f"{item}[]"
        if kind == "enum":
            return "enum(" + ", ".join(_short(s) for s in cwl_type.get("symbols", [])) + ")"
        if kind == "record":
            names = [_short(f["name"]) for f in cwl_type.get("fields", [])]
            return "record(" + ", ".join(names) + ")"
        return type_name(kind)
    return repr(cwl_type)


def _short(name: str) -> str:
    """The part after the last '#' or '/', so "file:///x.cwl#step/in/a" compares as "a"."""
    return name.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _describe(value: Any) -> str:
    kind = {bool: "boolean", int: "int", float: "float", str: "string"}.get(type(value))
    if value is None:
        return "null"
    if kind is None:
        kind = ("mapping" if isinstance(value, Mapping)
                else "list" if isinstance(value, list) else type(value).__name__)
    text = repr(value)
    return f"{kind} {text if len(text) <= 60 else text[:57] + '...'}"


def _fail(cwl_type: Any, value: Any, hint: str = "") -> _Mismatch:
    return _Mismatch(f"expected {type_name(cwl_type)}, got {_describe(value)}{hint}")


def _coerce(value: Any, cwl_type: Any) -> Any:
    if isinstance(cwl_type, list):
        return _union(value, cwl_type)
    if isinstance(cwl_type, Mapping):
        kind = cwl_type.get("type")
        if kind == "array":
            return _array(value, cwl_type)
        if kind == "enum":
            return _enum(value, cwl_type)
        if kind == "record":
            return _record(value, cwl_type)
        return _coerce(value, kind)
    if isinstance(cwl_type, str):
        return _primitive(value, _short(cwl_type))
    raise _Mismatch(f"unsupported CWL type {cwl_type!r}")


def _union(value: Any, members: list[Any]) -> Any:
    # Exact matches first so that ["float", "int"] takes 3 as the int member.
    for exact in (True, False):
        for member in members:
            if exact and not _fits_exactly(value, member):
                continue
            try:
                return _coerce(value, member)
            except _Mismatch:
                continue
    if len(members) == 1:
        return _coerce(value, members[0])  # the single member's message is the more precise
    raise _fail(members, value)


def _fits_exactly(value: Any, cwl_type: Any) -> bool:
    if isinstance(cwl_type, str) and _short(cwl_type) in ("float", "double"):
        return isinstance(value, float)
    return True


def _primitive(value: Any, name: str) -> Any:
    if name not in _PRIMITIVES:
        raise _Mismatch(f"unsupported CWL type '{name}'")
    if name == "null":
        if value is None:
            return None
        raise _fail(name, value)
    if value is None:
        raise _fail(name, value, " (the input is not optional)")
    if name == "Any":
        return _plain(value)
    if name == "boolean":
        if isinstance(value, bool):
            return bool(value)
    elif name in ("int", "long"):
        if isinstance(value, int) and not isinstance(value, bool):
            low, high = _INT_RANGE if name == "int" else _LONG_RANGE
            if not low <= value <= high:
                raise _Mismatch(f"expected {name}, got {value}, outside the {name} range"
                                + (" (declare it long)" if name == "int" else ""))
            return int(value)
        if isinstance(value, float) and value.is_integer():
            raise _fail(name, value, f" (write {int(value)} for an {name})")
    elif name in ("float", "double"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
    elif name == "string":
        if isinstance(value, str):
            return str(value)
    else:
        return _file_or_directory(value, name)
    raise _fail(name, value)


def _file_or_directory(value: Any, name: str) -> dict[str, Any]:
    keys = ("location", "path", "contents") if name == "File" else ("location", "path")
    where = "path, location or contents" if name == "File" else "path or location"
    hint = f" (write a mapping {{class: {name}, path: ...}})"
    if not isinstance(value, Mapping):
        raise _fail(name, value, hint)
    if value.get("class") != name:
        raise _fail(name, value, f" (its 'class' must be {name})")
    if not any(isinstance(value.get(k), str) for k in keys):
        raise _fail(name, value, f" (a {name} needs {where})")
    return _plain(value)


def _array(value: Any, cwl_type: Mapping[str, Any]) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(cwl_type, value)
    items = cwl_type.get("items")
    out = []
    for i, item in enumerate(value):
        try:
            out.append(_coerce(item, items))
        except _Mismatch as e:
            raise _Mismatch(f"item {i}: {e.reason}") from None
    return out


def _enum(value: Any, cwl_type: Mapping[str, Any]) -> str:
    symbols = [_short(s) for s in cwl_type.get("symbols", [])]
    if isinstance(value, str) and _short(value) in symbols:
        return _short(value)
    raise _fail(cwl_type, value)


def _record(value: Any, cwl_type: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(cwl_type, value)
    fields = {_short(f["name"]): f["type"] for f in cwl_type.get("fields", [])}
    unknown = [k for k in value if k not in fields]
    if unknown:
        raise _Mismatch(f"unknown field '{unknown[0]}' for {type_name(cwl_type)}")
    out = {}
    for name, ftype in fields.items():
        if name not in value:
            if not _accepts_null(ftype):
                raise _Mismatch(f"missing field '{name}' ({type_name(ftype)}) "
                                f"for {type_name(cwl_type)}")
            continue
        try:
            out[name] = _coerce(value[name], ftype)
        except _Mismatch as e:
            raise _Mismatch(f"field '{name}': {e.reason}") from None
    return out


def _accepts_null(cwl_type: Any) -> bool:
    try:
        _coerce(None, cwl_type)
    except _Mismatch:
        return False
    return True


def _plain(value: Any) -> Any:
    """A fresh copy made of plain dicts and lists, so no caller shares our containers."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
