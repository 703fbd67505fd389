"""Reading YAML so every node keeps its line, and turning ruamel's nodes into plain Python."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from saber.errors import InputError

__all__ = ["read_yaml", "key_line", "value_line", "item_line", "plain", "exact"]


def read_yaml(path: Path, what: str = "sweep file") -> Any:
    """Load `path` round-trip (nodes keep `.lc`); missing files and bad YAML become InputError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise InputError(f"{what} not found", file=str(path)) from e
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read {what}: {e}", file=str(path)) from e
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(p for p in (e.context, e.problem) if p) or "cannot parse"
        raise InputError(f"invalid YAML: {problem}", file=str(path), line=line) from e
    except YAMLError as e:
        raise InputError(f"invalid YAML: {e}", file=str(path)) from e


def key_line(node: Any, key: Any, default: int | None = None) -> int | None:
    """1-based line of `key` in a ruamel mapping (ruamel counts from 0)."""
    try:
        return node.lc.key(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        return default


def value_line(node: Any, key: Any, default: int | None = None) -> int | None:
    """1-based line where the value of `key` starts."""
    try:
        return node.lc.value(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        return default


def item_line(node: Any, index: int, default: int | None = None) -> int | None:
    """1-based line of item `index` of a ruamel sequence."""
    try:
        return node.lc.item(index)[0] + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return default


def plain(node: Any) -> Any:
    """ruamel's round-trip types (ScalarFloat, CommentedMap, …) as plain Python values."""
    if isinstance(node, Mapping):
        return {plain(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, bool):  # before int: ruamel's ScalarBoolean subclasses int
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, (datetime.date, datetime.datetime)):
        # CWL has no date type: an unquoted 2020-01-01 can only have meant the string.
        return node.isoformat()
    return node


def exact(number: int | float) -> Decimal:
    """The decimal the YAML text wrote: repr gives the shortest text that reads back as `number`."""
    if isinstance(number, int):
        return Decimal(int(number))
    return Decimal(float.__repr__(float(number)))
