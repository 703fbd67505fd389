"""`saber gc`: run storage and step-cache entries nobody needs any more, removed.

Run storage grows by every run's outputs and scratch (`storage/<dag>/<run>/`,
`storage/.work/<dag>/<run>/`) and the step cache by every entry. What is older than the
retention and belongs to no run still in flight goes; `--outdir`s are outside the run storage
and are never touched (they hold hard links: a removed run folder frees space only where no
outdir or cache entry still links its files, and the figure printed counts only that).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from saber.home import SaberHome

__all__ = ["Garbage", "collect_garbage"]


@dataclass
class Garbage:
    runs: list[Path] = field(default_factory=list)  # run folders (outputs and scratch)
    cache: list[Path] = field(default_factory=list)  # step cache entries and their leftovers
    in_flight: int = 0  # run folders kept because their run is queued or running
    freed_bytes: int = 0  # bytes whose last link goes

    @property
    def nothing(self) -> bool:
        return not self.runs and not self.cache


def collect_garbage(home: SaberHome, *, older_than_s: float, dry_run: bool = False,
                    now: Callable[[], float] = time.time) -> Garbage:
    """Remove (or with ``dry_run`` only find) what was last touched more than ``older_than_s``
    seconds ago: run folders of runs not in flight, cache entries not used since."""
    from saber.backends.embedded._home_runs import home_runs

    cutoff = now() - older_than_s
    storage = home.storage
    flying = {(r.dag_id, r.run_id) for r in home_runs(home, active_only=True)}
    found = Garbage()
    for base in (storage, storage / ".work"):
        for dag_dir in _folders(base):
            for run_dir in _folders(dag_dir):
                if (dag_dir.name, run_dir.name) in flying:
                    found.in_flight += 1
                elif _last_touched(run_dir) < cutoff:
                    found.runs.append(run_dir)
    cache = storage / ".cache"
    for shard in _folders(cache):
        if shard.name in ("locks", "last", "tmp"):
            found.cache += [p for p in shard.iterdir() if _last_touched(p) < cutoff]
        else:
            found.cache += [entry for entry in _folders(shard) if entry.stat().st_mtime < cutoff]
    found.freed_bytes = _freed(found.runs + found.cache)
    if not dry_run:
        for path in found.runs + found.cache:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        for parent in {p.parent for p in found.runs + found.cache}:
            try:
                parent.rmdir()  # a DAG's or a cache shard's folder left empty
            except OSError:
                pass
    return found


def _folders(path: Path) -> Iterator[Path]:
    """Sub-folders, in name order; saber's own dot-folders (.work, .cache) are walked apart."""
    if path.is_dir():
        yield from sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def _last_touched(path: Path) -> float:
    """The newest modification time of ``path`` and everything below it."""
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                try:
                    newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
                except OSError:
                    pass
    return newest


def _freed(paths: list[Path]) -> int:
    """Bytes of the files whose every link lies in ``paths`` (hard links elsewhere keep them)."""
    links: dict[tuple[int, int], list] = {}
    for path in paths:
        files = [path] if not path.is_dir() else [Path(r) / f for r, _, fs in os.walk(path) for f in fs]
        for f in files:
            try:
                st = f.lstat()
            except OSError:
                continue
            seen = links.setdefault((st.st_dev, st.st_ino), [0, st.st_nlink, st.st_size])
            seen[0] += 1
    return sum(size for inside, total, size in links.values() if inside >= total)
