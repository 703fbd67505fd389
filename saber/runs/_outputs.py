"""A finished run's outputs placed in the user's outdir: hard links to run storage where both
are on one filesystem (as Nextflow's ``publishDir mode: 'link'``), copies elsewhere."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

__all__ = ["export_outputs"]


def export_outputs(value: Any, dest: Path, placed: dict | None = None, *, download: bool = True) -> Any:
    """Place every File/Directory in ``value`` in ``dest``; return the object with new locations.

    A file that two outputs name (a Directory updated in place and listed by both) is placed
    once, as cwltool's relocation does; ``placed`` remembers what went where. Outputs on S3
    are downloaded (a published try, checked), or with ``download`` False keep their `s3://`
    locations."""
    placed = {} if placed is None else placed
    if isinstance(value, list):
        return [export_outputs(v, dest, placed, download=download) for v in value]
    if not isinstance(value, dict):
        return value
    value = {k: v for k, v in value.items() if "://" not in k}  # drop cwltool-internal keys
    if value.get("class") in ("File", "Directory") and value.get("location", "").startswith("s3://"):
        if download:
            target = placed.get(value["location"])
            if target is None:
                target = placed[value["location"]] = _free_name(dest / (value.get("basename") or "output"))
                _fetch(value["location"], target)
            value.update(location=target.as_uri(), path=str(target), basename=target.name)
            value.pop("listing", None)
        if value.get("secondaryFiles"):
            value["secondaryFiles"] = export_outputs(value["secondaryFiles"], dest, placed, download=download)
        return value
    if value.get("class") in ("File", "Directory") and value.get("location", "").startswith("file://"):
        src = Path(unquote(urlparse(value["location"]).path))
        dest.mkdir(parents=True, exist_ok=True)
        target = placed.get(src)
        if target is None:
            target = placed[src] = _free_name(dest / src.name)
            if src.is_dir():
                shutil.copytree(src, target, copy_function=_link_or_copy)  # file by file
            elif src.exists():
                _link_or_copy(src, target)
        value.update(location=target.as_uri(), path=str(target), basename=target.name)
        if value.get("listing"):
            value.pop("listing")
        if value.get("secondaryFiles"):
            value["secondaryFiles"] = export_outputs(value["secondaryFiles"], dest, placed, download=download)
        return value
    return {k: export_outputs(v, dest, placed, download=download) for k, v in value.items()}


def _fetch(url: str, target: Path) -> None:
    from saber.storage import parse_s3_url, storage_for

    bucket, _ = parse_s3_url(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    storage_for(f"s3://{bucket}").fetch(url, target)


def _link_or_copy(src: str | Path, target: str | Path) -> None:
    """A hard link: an output of many GB is not stored twice. A copy where linking is refused:
    another filesystem (EXDEV), one without hard links, a file this user does not own under
    fs.protected_hardlinks (EPERM), too many links (EMLINK)."""
    try:
        os.link(src, target)
    except OSError:
        shutil.copy2(src, target)


def _free_name(path: Path) -> Path:
    """Scattered steps make many files of one name: number the later ones."""
    if not path.exists():
        return path
    stem, suffix = path.name.split(".", 1)[0], "".join(path.suffixes)
    n = 2
    while (candidate := path.with_name(f"{stem}_{n}{suffix}")).exists():
        n += 1
    return candidate
