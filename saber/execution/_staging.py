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


def stage_in(job: dict, storage, scratch: Path) -> dict:
    """``job`` with every remote File and Directory fetched below ``scratch`` (each into a folder
    of its own, secondaryFiles beside their primary, as cwltool finds them) and its location
    local."""
    counter = iter(range(1 << 30))

    def local(value: Any, folder: Path | None = None) -> Any:
        if isinstance(value, list):
            return [local(v) for v in value]
        if not isinstance(value, dict):
            return value
        if value.get("class") in ("File", "Directory") and _remote(value.get("location")):
            folder = folder or scratch / str(next(counter))
            name = value.get("basename") or _basename(value["location"])
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


def _remote(location: Any) -> bool:
    return isinstance(location, str) and location.startswith("s3://")


def _basename(location: str) -> str:
    return unquote(urlparse(location).path.rstrip("/").rsplit("/", 1)[-1])
