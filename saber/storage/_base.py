"""The storage contract: where a run's step outputs and a client's inputs live."""

from __future__ import annotations

import abc
import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from saber.errors import StorageError

__all__ = ["MARKER", "Manifest", "Storage", "check_key", "copy_local", "file_sha256", "local_path",
           "manifest_of"]

MARKER = ".saber-complete"  # the commit marker of a published folder on S3
_CHUNK = 1 << 20


class Storage(abc.ABC):
    """Run data in one place, a local folder or an S3 prefix (the *root*), addressed by URL.

    A *key* is a relative POSIX path under the root (``runs/<dag>/<run>/<task>/try-1``): no
    leading ``/``, no ``.`` or ``..`` parts. A published folder is a *unit*: readers see a whole
    try's folder or nothing, never a part of one, and never a mix of two tries. URLs are URIs
    (``file:///...`` or ``s3://bucket/key``) whose path is percent-encoded like
    ``Path.as_uri()``. Every method may be called from several threads and processes at once;
    failures of the store itself (missing bucket, denied key, unreachable endpoint) raise
    :class:`~saber.errors.StorageError` with one sentence naming the place.
    """

    url: str  # the root, as a URL

    @abc.abstractmethod
    def publish(self, local_dir: Path, key: str) -> str:
        """Put the whole folder ``local_dir`` under ``<root>/<key>/``, all at once or not at all.

        An earlier folder at ``key`` (an earlier try) is replaced: afterwards no file of it is
        left. A publish that fails midway leaves, for readers, the earlier folder or nothing.
        Empty folders are kept. ``local_dir`` must not hold a top-level entry named
        ``.saber-complete``, and its files must not change afterwards (they may be hard-linked).

        Returns:
            The URL of the published folder (``location(key)``).
        Raises:
            StorageError: the store refused or could not be reached; or ``local_dir`` is not a
                folder.
        """

    @abc.abstractmethod
    def location(self, key: str, relpath: str = "") -> str:
        """The URL of ``relpath`` (a file or folder, POSIX, relative) inside the folder published
        at ``key``; of the folder itself when ``relpath`` is empty. No I/O."""

    @abc.abstractmethod
    def fetch(self, url: str, dest: Path) -> Path:
        """Copy the published File or Directory at ``url`` to the local path ``dest`` (created
        with its parents; must not exist yet) and return ``dest``.

        Accepts ``file://`` URLs and URLs of this storage's kind. Only whole published data is
        read: on S3 a folder whose commit marker is missing (a publish that failed or is still
        going on) is refused, and every file is checked against the size and sha256 the
        marker lists.

        Raises:
            StorageError: nothing is published at ``url``, or the store failed.
        """

    @abc.abstractmethod
    def upload_input(self, path: Path) -> str:
        """Make a client's local input File or Directory readable by tasks; its URL.

        Content-addressed (``<root>/inputs/sha256/<digest>/<basename>``) where the storage is
        not local: identical content is uploaded once, whoever uploads it. A local storage may
        return ``path``'s own ``file://`` URL.

        Raises:
            InputError: ``path`` does not exist.
            StorageError: the store failed.
        """

    @abc.abstractmethod
    def exists(self, url: str) -> bool:
        """Whether ``fetch(url, ...)`` would find a whole published File or Directory."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove the folder published at ``key`` (readers see it absent first); no error if
        there is none."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


def check_key(key: str, *, empty: bool = False) -> str:
    """``key`` without a trailing ``/``; ValueError for an absolute or escaping one (or an empty
    one unless ``empty``)."""
    stripped = key.rstrip("/")
    parts = stripped.split("/") if stripped else []
    if key.startswith("/") or (not parts and not empty) or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"a storage key must be a relative POSIX path without '.' or '..': {key!r}")
    return stripped


@dataclass(frozen=True)
class Manifest:
    """What a published folder holds: files (relpath -> (size, sha256)) and empty folders."""

    files: dict[str, tuple[int, str]] = field(default_factory=dict)
    dirs: tuple[str, ...] = ()

    def digest(self) -> str:
        """A sha256 over names and contents: equal for folders with equal trees."""
        h = hashlib.sha256()
        for rel in sorted(self.files):
            size, sha = self.files[rel]
            h.update(f"f\0{rel}\0{size}\0{sha}\n".encode())
        for rel in sorted(self.dirs):
            h.update(f"d\0{rel}\n".encode())
        return h.hexdigest()

    def to_json(self) -> dict:
        return {"version": 1, "files": {k: {"size": s, "sha256": h} for k, (s, h) in self.files.items()},
                "dirs": list(self.dirs)}

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        files = {k: (int(v["size"]), str(v["sha256"])) for k, v in data["files"].items()}
        return cls(files=files, dirs=tuple(data.get("dirs", ())))


def manifest_of(local_dir: Path) -> Manifest:
    """Walk ``local_dir`` (following symlinks, like ``shutil.copytree``) and hash every file."""
    if not local_dir.is_dir():
        raise StorageError(f"cannot publish {local_dir}: it is not a folder", url=None)
    files: dict[str, tuple[int, str]] = {}
    dirs: list[str] = []
    for top, dirnames, filenames in os.walk(local_dir, followlinks=True):
        rel_top = Path(top).relative_to(local_dir).as_posix()
        prefix = "" if rel_top == "." else rel_top + "/"
        if not dirnames and not filenames and prefix:
            dirs.append(prefix.rstrip("/"))
        for name in filenames:
            path = Path(top, name)
            files[prefix + name] = (path.stat().st_size, file_sha256(path))
    if MARKER in files or MARKER in dirs:
        raise StorageError(f"cannot publish {local_dir}: it holds an entry named {MARKER}, saber's "
                           "commit marker")
    return Manifest(files=dict(sorted(files.items())), dirs=tuple(sorted(dirs)))


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def copy_local(src: Path, dest: Path) -> Path:
    """Copy a file or folder to ``dest`` (parents created): the local half of ``fetch``."""
    if dest.exists() or dest.is_symlink():
        raise StorageError(f"cannot fetch {src.as_uri()} to {dest}: {dest} already exists", url=src.as_uri())
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dest)
    elif src.is_file():
        shutil.copy2(src, dest)
    else:
        raise StorageError(f"nothing is published at {src.as_uri()}", url=src.as_uri())
    return dest


def local_path(url: str) -> Path:
    """The path of a ``file://`` URL; StorageError for another kind."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
        raise StorageError(f"not a local file:// URL: {url}", url=url)
    return Path(unquote(parts.path))
