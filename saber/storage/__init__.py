"""Run data (step outputs, a client's inputs) in a local folder or on S3, through one contract.

``storage_for(url)`` picks the implementation from the run's storage URL; tasks stage inputs in
with ``fetch``, publish each try's outputs with ``publish`` (whole or not at all) and point CWL
output objects at ``location``; the client uploads inputs with ``upload_input`` and downloads
final outputs with ``fetch``. ``saber.storage.testing.StorageContract`` is the shared test suite.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from saber.errors import InputError, StorageError
from saber.storage._base import MARKER, Storage
from saber.storage._local import LocalStorage
from saber.storage._s3 import S3Storage, parse_s3_url, s3_url
from saber.storage._s3_client import s3_client

__all__ = ["MARKER", "LocalStorage", "S3Storage", "Storage", "StorageError", "parse_s3_url", "s3_client",
           "s3_url", "storage_for"]

# S3's rules, loosely: 3-63 lowercase letters, digits, dots and hyphens (dots allow old names)
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")


def storage_for(url: str) -> Storage:
    """The storage at ``url``: an absolute path or ``file:///path`` (a local folder) or
    ``s3://bucket[/prefix]``. Nothing is created or contacted.

    Raises:
        InputError: any other URL, or a bucket name S3 does not allow (the message names it).
    """
    text = str(url).strip()
    parts = urlsplit(text)
    if text.startswith("/"):
        return LocalStorage(root=Path(text))
    if parts.scheme == "file" and parts.netloc in ("", "localhost") and parts.path.startswith("/"):
        return LocalStorage(root=Path(unquote(parts.path)))
    if parts.scheme == "s3":
        if not _BUCKET.fullmatch(parts.netloc):
            raise InputError(f"storage URL {url!r} does not name a valid S3 bucket (s3://bucket/prefix)")
        prefix = unquote(parts.path).strip("/")
        try:
            return S3Storage(bucket=parts.netloc, prefix=prefix)
        except ValueError as e:
            raise InputError(f"storage URL {url!r} has a bad prefix: {e}") from e
    raise InputError(f"storage URL {url!r} is neither an absolute path, a file:/// URL nor "
                     "s3://bucket/prefix")
