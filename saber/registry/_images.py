"""`saber tools build`: tool images from dockerfiles/<name>/ as saber/<name>:<VERSION>, on the
user's BASE_IMAGE (python:3.12-slim by default; where Docker Hub cannot be reached,
scripts/build-images.sh first makes a local Debian stand-in, saber/debian-python:bookworm)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from saber.errors import SaberError

__all__ = ["base_image", "build_image", "image_tag"]

_DEFAULT_BASE = "python:3.12-slim"
_LOCAL_BASE = "saber/debian-python:bookworm"


def image_tag(folder: Path) -> str:
    version = folder / "VERSION"
    if not version.is_file():
        raise SaberError(f"{folder}: no VERSION file (images are tagged saber/<name>:<VERSION>)")
    return f"saber/{folder.name}:{version.read_text().strip()}"


def _present(image: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False).returncode == 0


def base_image() -> str:
    """$BASE_IMAGE; else python:3.12-slim or the local stand-in if present; else python:3.12-slim
    for `docker build` to pull."""
    if os.environ.get("BASE_IMAGE"):
        return os.environ["BASE_IMAGE"]
    for candidate in (_DEFAULT_BASE, _LOCAL_BASE):
        if _present(candidate):
            return candidate
    return _DEFAULT_BASE  # docker build pulls it


def build_image(folder: Path, *, force: bool = False) -> tuple[str, bool]:
    """Build ``folder``'s image unless its tag exists (or ``force``); returns (tag, built)."""
    tag = image_tag(folder)
    if not force and _present(tag):
        return tag, False
    base = base_image()
    done = subprocess.run(["docker", "build", "-q", "--network", "host", "--build-arg", f"BASE_IMAGE={base}",
                           "-t", tag, str(folder)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SaberError(f"building {tag} from {folder} on {base} failed:\n{done.stderr[-3000:]}")
    return tag, True
