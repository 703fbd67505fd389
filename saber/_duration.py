"""Durations as users write them: 90, 90s, 30m, 2h, 1h30m, 1d."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["seconds"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([smhd])")


def seconds(value: Any, *, zero: bool = False) -> float | None:
    """``value`` in seconds, or None if it is no duration (or not positive, unless ``zero``)."""
    if not isinstance(value, bool) and isinstance(value, (int, float)):
        return float(value) if value > 0 or (zero and value == 0) else None
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    try:  # a bare number: seconds
        return seconds(float(text), zero=zero)
    except ValueError:
        pass
    parts = _PART.findall(text)
    if not parts or _PART.sub("", text).strip():
        return None
    total = sum(float(n) * _UNITS[u] for n, u in parts)
    return total if total > 0 or (zero and total == 0) else None
