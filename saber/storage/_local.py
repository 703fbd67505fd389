"""Run data in a local folder: a publish is a copy into a hidden sibling, then a rename."""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from pathlib import Path

from saber.errors import InputError, StorageError
from saber.storage._base import MARKER, Storage, check_key, copy_local, local_path

__all__ = ["LocalStorage"]

_SWAP_TRIES = 5


class LocalStorage(Storage):
    """A folder on a filesystem every task sees (the embedded backend's ``$SABER_STORAGE``).

    A try is assembled in ``.<name>.tmp-<id>`` next to its final place and renamed into place,
    so readers never see a partial folder. Files are hard-linked from the published folder where
    both are on one filesystem, else copied; inputs are read where they are.
    """

    def __init__(self, *, root: Path) -> None:
        self.root = Path(root).absolute()
        self.url = self.root.as_uri()

    def publish(self, local_dir: Path, key: str) -> str:
        target = self.root / check_key(key)
        if not local_dir.is_dir():
            raise StorageError(f"cannot publish {local_dir}: it is not a folder", url=target.as_uri())
        if (local_dir / MARKER).exists():
            raise StorageError(f"cannot publish {local_dir}: it holds an entry named {MARKER}, saber's "
                               "commit marker", url=target.as_uri())
        tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:12]}"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(local_dir, tmp, copy_function=_link_or_copy)
            _swap_in(tmp, target)
        except shutil.Error as e:  # copytree collects one error per file: report the first
            src, _, why = e.args[0][0]
            raise StorageError(f"cannot publish {local_dir} to {target}: {src}: {why}",
                               url=target.as_uri()) from e
        except OSError as e:
            raise StorageError(f"cannot publish {local_dir} to {target}: {e.strerror or e}",
                               url=target.as_uri()) from e
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return target.as_uri()

    def location(self, key: str, relpath: str = "") -> str:
        return (self.root / check_key(key) / check_key(relpath, empty=True)).as_uri()

    def fetch(self, url: str, dest: Path) -> Path:
        return copy_local(local_path(url), Path(dest))

    def upload_input(self, path: Path) -> str:
        path = Path(path).absolute()
        if not path.exists():
            raise InputError(f"input {path} does not exist")
        return path.as_uri()

    def exists(self, url: str) -> bool:
        return local_path(url).exists()

    def delete(self, key: str) -> None:
        target = self.root / check_key(key)
        trash = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:12]}"
        try:
            os.rename(target, trash)  # absent for readers at once, however long the removal takes
        except FileNotFoundError:
            return
        except OSError as e:
            raise StorageError(f"cannot delete {target}: {e.strerror or e}", url=target.as_uri()) from e
        shutil.rmtree(trash, ignore_errors=True)


def _link_or_copy(src: str, dst: str) -> str:
    """A hard link to the file ``src`` names (Linux would link a symlink itself), else a copy."""
    try:
        os.link(os.path.realpath(src), dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


def _swap_in(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``, moving an earlier ``target`` aside first. Another publisher
    of the same key may put its folder in between: then replace that one too (the last wins)."""
    for attempt in range(_SWAP_TRIES):
        old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:12]}"
        try:
            os.rename(target, old)
        except FileNotFoundError:
            old = None
        try:
            os.rename(tmp, target)
            return
        except OSError as e:
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST) or attempt == _SWAP_TRIES - 1:
                raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
