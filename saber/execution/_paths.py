"""Where a CWL File or Directory object lives on this machine."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

__all__ = ["path_of"]


def path_of(value: dict) -> Path | None:
    """The local path of a File or Directory object, if it has one."""
    if value.get("path"):
        return Path(value["path"])
    location = value.get("location") or ""
    if location.startswith("file://"):
        return Path(unquote(urlparse(location).path))
    if location and "://" not in location:
        return Path(location)
    return None
