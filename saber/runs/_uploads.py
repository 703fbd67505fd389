"""A client's local input files put where tasks on other machines read them: the run's S3
storage, content-addressed, each file once per invocation (and once ever, whoever uploads it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

__all__ = ["input_uploader"]


def input_uploader(storage_url: str | None) -> Callable[[Any], Any] | None:
    """A function giving a job value with its local File/Directory locations replaced by their
    uploaded `s3://` ones; None when the run's storage is local (tasks read the files there)."""
    if not storage_url or not storage_url.startswith("s3://"):
        return None
    from saber.storage import storage_for

    storage = storage_for(storage_url)
    done: dict[tuple, str] = {}  # (path, size, mtime) -> URL: a sweep's points share their inputs

    def upload(value: Any) -> Any:
        if isinstance(value, list):
            return [upload(v) for v in value]
        if not isinstance(value, dict):
            return value
        if value.get("class") in ("File", "Directory"):
            path = _local_path(value)
            if path is None:  # already remote, or a literal (contents/listing only)
                return {k: upload(v) for k, v in value.items()}
            st = path.stat()
            memo = (str(path), st.st_size, st.st_mtime_ns)
            if memo not in done:
                done[memo] = storage.upload_input(path)
            out = {k: upload(v) for k, v in value.items() if k not in ("path", "dirname", "listing")}
            out.update(location=done[memo], basename=value.get("basename") or path.name)
            return out
        return {k: upload(v) for k, v in value.items()}

    return upload


def _local_path(value: dict) -> Path | None:
    location = str(value.get("location") or value.get("path") or "")
    if location.startswith("file://"):
        return Path(unquote(urlparse(location).path))
    if location.startswith("/"):
        return Path(location)
    return None
