"""Reading YAML so every node keeps its line, and turning ruamel's nodes into plain Python."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from saber.errors import InputError

__all__ = ["read_yaml", "check_depth", "key_line", "value_line", "item_line", "plain", "exact", "MAX_YAML_VALUES"]

# What a document may stand for once its aliases are expanded. Aliases share nodes, so a small
# file ("billion laughs") can stand for 10^9 values: every consumer that walks it would hang.
MAX_YAML_VALUES = 1_000_000
# Brackets nested deeper than this: the YAML parsers recurse per level and take seconds to hit
# Python's recursion limit (no real document comes near it).
MAX_YAML_DEPTH = 200
_BRACKETS = re.compile(r"[\[\]{}]")


def read_yaml(path: Path, what: str = "sweep file") -> Any:
    """Load `path` round-trip (nodes keep `.lc`); missing files, bad YAML and aliases that expand
    to more than MAX_YAML_VALUES values (or into themselves) become InputError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise InputError(f"{what} not found", file=str(path)) from e
    except IsADirectoryError as e:
        raise InputError(f"the {what} is a directory, not a file", file=str(path)) from e
    except UnicodeDecodeError as e:
        raise InputError(f"the {what} is not UTF-8 text (byte {e.start} cannot be decoded)",
                         file=str(path)) from e
    except OSError as e:
        raise InputError(f"cannot read {what}: {e.strerror or e}", file=str(path)) from e
    check_depth(text, str(path))
    try:
        doc = YAML(typ="rt").load(text)
    except RecursionError as e:
        raise InputError("invalid YAML: nested too deeply", file=str(path)) from e
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(p for p in (e.context, e.problem) if p) or "cannot parse"
        raise InputError(f"invalid YAML: {problem}", file=str(path), line=line) from e
    except YAMLError as e:
        raise InputError(f"invalid YAML: {' '.join(str(e).split())}", file=str(path)) from e
    _Expansion(str(path)).size(doc)
    return doc


def check_depth(text: str, file: str) -> None:
    """Refuse flow collections ([...], {...}) nested deeper than MAX_YAML_DEPTH, before a parser
    spends seconds recursing into them (brackets inside strings count too: none come near)."""
    depth = 0
    for match in _BRACKETS.finditer(text):
        depth += 1 if match.group() in "[{" else -1
        if depth > MAX_YAML_DEPTH:
            line = text.count("\n", 0, match.start()) + 1
            raise InputError(f"invalid YAML: nested too deeply (more than {MAX_YAML_DEPTH} levels)",
                             file=file, line=line)


class _Expansion:
    """Counts the values a document stands for, each shared (aliased) node once."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()
        self.shared = False

    def size(self, node: Any, depth: int = 0) -> int:
        if not isinstance(node, (Mapping, list)):
            return 1
        key = id(node)
        if key in self.sizes:
            self.shared = True
            return self.sizes[key]
        if key in self.open:
            raise InputError("invalid YAML: an alias refers to a node that contains it",
                             file=self.file, line=_node_line(node))
        if depth > 500:
            raise InputError("invalid YAML: nested too deeply", file=self.file, line=_node_line(node))
        self.open.add(key)
        children = list(node.values()) if isinstance(node, Mapping) else node
        total = 1 + sum(self.size(child, depth + 1) for child in children)
        self.open.discard(key)
        if self.shared and total > MAX_YAML_VALUES:
            raise InputError(f"invalid YAML: its aliases expand to {total} values, more than "
                             f"{MAX_YAML_VALUES} (an alias bomb?)", file=self.file, line=_node_line(node))
        self.sizes[key] = total
        return total


def _node_line(node: Any) -> int | None:
    try:
        return node.lc.line + 1
    except AttributeError:
        return None


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
