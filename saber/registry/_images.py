"""`saber tools build`: tool images from dockerfiles/<name>/ as saber/<name>:<VERSION>, on the
user's BASE_IMAGE (python:3.12-slim by default; where Docker Hub cannot be reached,
scripts/build-images.sh first makes a local Debian stand-in, saber/debian-python:bookworm).

Each image carries the hash of its build context as the label saber.context-sha256, so an
image built before its folder changed is told apart from a current one (image_state)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Literal

from saber.errors import InputError, SaberError
from saber.registry._context import CONTEXT_LABEL, context_hash

__all__ = ["ImageState", "base_image", "build_image", "image_dirs", "image_state", "image_tag", "require_current"]

_DEFAULT_BASE = "python:3.12-slim"
_LOCAL_BASE = "saber/debian-python:bookworm"

# missing: no such tag; stale: built from another build context, or without the label (by hand)
ImageState = Literal["missing", "stale", "current"]


def image_tag(folder: Path) -> str:
    version = folder / "VERSION"
    if not version.is_file():
        raise SaberError(f"{folder}: no VERSION file (images are tagged saber/<name>:<VERSION>)")
    return f"saber/{folder.name}:{version.read_text().strip()}"


def image_dirs(images_dir: Path) -> list[Path]:
    """The registry's image folders: dockerfiles/<name>/ holding a Dockerfile."""
    return sorted(p for p in images_dir.iterdir() if (p / "Dockerfile").is_file()) if images_dir.is_dir() else []


def _present(image: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False).returncode == 0


def _label(image: str) -> str | None:
    """The image's context label ('' when it has none), or None when the engine has no such image."""
    done = subprocess.run(["docker", "image", "inspect", "--format",
                           f'{{{{ index .Config.Labels "{CONTEXT_LABEL}" }}}}', image],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None
    label = done.stdout.strip()
    return "" if label == "<no value>" else label


def image_state(folder: Path, tag: str | None = None) -> tuple[str, ImageState]:
    """``folder``'s image tag and whether the local engine has it built from this context."""
    tag = tag or image_tag(folder)
    label = _label(tag)
    if label is None:
        return tag, "missing"
    return tag, "current" if label == context_hash(folder) else "stale"


def base_image() -> str:
    """$BASE_IMAGE; else python:3.12-slim or the local stand-in if present; else python:3.12-slim
    for `docker build` to pull."""
    if os.environ.get("BASE_IMAGE"):
        return os.environ["BASE_IMAGE"]
    for candidate in (_DEFAULT_BASE, _LOCAL_BASE):
        if _present(candidate):
            return candidate
    return _DEFAULT_BASE  # docker build pulls it


def build_image(folder: Path, *, force: bool = False) -> tuple[str, str]:
    """Build ``folder``'s image unless it is current (or with ``force``); returns the tag and
    what happened: 'built', 'built (context changed)' or 'present (current)'."""
    tag, state = image_state(folder)
    if state == "current" and not force:
        return tag, "present (current)"
    base, digest = base_image(), context_hash(folder)
    done = subprocess.run(["docker", "build", "-q", "--network", "host", "--build-arg", f"BASE_IMAGE={base}",
                           "--label", f"{CONTEXT_LABEL}={digest}", "-t", tag, str(folder)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SaberError(f"building {tag} from {folder} on {base} failed:\n{done.stderr[-3000:]}")
    return tag, "built (context changed)" if state == "stale" else "built"


def require_current(folder: Path, tag: str) -> None:
    """Refuse to test a tool in an image that is not built from ``folder`` as it is now.

    Raises:
        InputError: the image is missing, or stale (its context changed, or it has no label).
    """
    state = image_state(folder, tag)[1]
    build = f"`saber tools build {folder.name}`"
    if state == "missing":
        raise InputError(f"image {tag} is not built: run {build}")
    if state == "stale":
        raise InputError(f"image {tag} is stale: its build context {folder}/ changed since it was built "
                         f"(or it was built without saber's context label): run {build}")
