"""Small private files (keys) made once, readable by their owner only."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["private_file"]


def private_file(path: Path, make: Callable[[], str]) -> str:
    """The contents of ``path``; on first use, ``make()``'s text written there with mode 0600.
    Concurrent first uses agree: the file appears whole (a link), and the first one wins."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(make())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
