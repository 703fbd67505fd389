"""A task's run data on S3: its inputs staged in from the run's storage into local scratch, its
outputs published there as one unit, the CWL output object pointing at them.

Workers then share no folder with each other or with the client: a step's job holds `s3://`
locations, the tool runs on local copies through cwltool as before, and the next step (on any
worker) reads only what a whole try published (saber.storage).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

__all__ = ["publish_outputs", "stage_in", "task_storage"]


def task_storage(own: dict):
    """The run's storage when it is remote (the run's conf names it), else None: a local run
    keeps its outputs where the tool left them."""
    url = own.get("storage")
    if not url or not str(url).startswith("s3://"):
        return None
    from saber.storage import storage_for

    return storage_for(url)


def stage_in(job: dict, storage, scratch: Path, local_root: Path | None = None) -> dict:
    """``job`` with every remote File and Directory fetched below ``scratch`` (each into a folder
    of its own, secondaryFiles beside their primary, as cwltool finds them) and its location
    local.

    A File this machine published itself (an earlier step on this worker: its outputs are still
    in ``local_root``, under the key they were published at) is linked from there instead of
    downloaded, if its sha1 is the checksum the output object carries (any other try's file
    differs)."""
    counter = iter(range(1 << 30))
    base = str(getattr(storage, "url", "") or "")

    def local(value: Any, folder: Path | None = None) -> Any:
        if isinstance(value, list):
            return [local(v) for v in value]
        if not isinstance(value, dict):
            return value
        if value.get("class") in ("File", "Directory") and _remote(value.get("location")):
            folder = folder or scratch / str(next(counter))
            name = value.get("basename") or _basename(value["location"])
            mine = _published_here(value, base, local_root)
            if mine is not None:
                folder.mkdir(parents=True, exist_ok=True)
                path = _link(mine, folder / name)
            else:
                path = storage.fetch(value["location"], folder / name)
            out = {k: v for k, v in value.items() if k not in ("path", "listing", "dirname")}
            out.update(location=path.as_uri(), basename=name)
            if value.get("secondaryFiles"):
                out["secondaryFiles"] = [local(s, folder) for s in value["secondaryFiles"]]
            return out
        return {k: local(v) for k, v in value.items()}

    return local(job)


def publish_outputs(outputs: dict, outdir: Path, storage, key: str) -> dict:
    """Publish ``outdir`` (the tool's outputs, moved there by cwltool) at ``key`` and return the
    output object with those files' `s3://` locations; sizes and checksums stay as cwltool
    computed them. A file outside ``outdir`` (an input the tool updated in place) cannot reach
    other workers and is refused."""
    from saber.errors import StorageError

    root = os.path.realpath(outdir)
    storage.publish(outdir, key)

    def remote(value: Any) -> Any:
        if isinstance(value, list):
            return [remote(v) for v in value]
        if not isinstance(value, dict):
            return value
        if value.get("class") in ("File", "Directory") and str(value.get("location", "")).startswith("file:"):
            path = os.path.realpath(unquote(urlparse(value["location"]).path))
            if not (path + "/").startswith(root + "/"):
                raise StorageError(f"output {path} is not in the step's output folder (an input updated in "
                                   f"place?); it cannot be published to {storage.url}", url=storage.url)
            rel = os.path.relpath(path, root)
            out = {k: remote(v) for k, v in value.items() if k not in ("path", "dirname")}
            out["location"] = storage.location(key, "" if rel == "." else rel)
            return out
        return {k: remote(v) for k, v in value.items()}

    return remote(outputs)


def _published_here(value: dict, base: str, local_root: Path | None) -> Path | None:
    """The local copy of a File this machine published, when it is the same content."""
    import hashlib

    location, checksum = value["location"], str(value.get("checksum") or "")
    if (local_root is None or value.get("class") != "File" or not checksum.startswith("sha1$")
            or not base or not location.startswith(base.rstrip("/") + "/")):
        return None
    path = local_root / unquote(location[len(base.rstrip("/")) + 1:])
    if not path.is_file():
        return None
    h = hashlib.sha1()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return path if h.hexdigest() == checksum.removeprefix("sha1$") else None


def _link(src: Path, dest: Path) -> Path:
    try:
        os.link(src, dest)
    except OSError:
        import shutil

        shutil.copy2(src, dest)
    return dest


def _remote(location: Any) -> bool:
    return isinstance(location, str) and location.startswith("s3://")


def _basename(location: str) -> str:
    return unquote(urlparse(location).path.rstrip("/").rsplit("/", 1)[-1])
