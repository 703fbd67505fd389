"""The content hash of an image's build context (dockerfiles/<name>/): the label that tells a
current image from one built before its script or Dockerfile changed."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

__all__ = ["CONTEXT_LABEL", "context_files", "context_hash"]

CONTEXT_LABEL = "saber.context-sha256"


def context_hash(folder: Path) -> str:
    """sha256 over the files Docker sends as ``folder``'s build context: each one's path relative
    to ``folder`` and its bytes, in path order."""
    digest = hashlib.sha256()
    for rel in context_files(folder):
        data = (folder / rel).read_bytes()
        # Length-prefixed fields: no two different contexts give the same byte stream.
        name = rel.encode()
        digest.update(len(name).to_bytes(8, "big") + name + len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def context_files(folder: Path) -> list[str]:
    """The files under ``folder`` (relative, '/'-separated, sorted) less those its .dockerignore
    leaves out: a __pycache__ that a test's import wrote there must not make an image stale."""
    rules = _ignore_rules(folder / ".dockerignore")
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    return [f for f in files if f in ("Dockerfile", ".dockerignore") or not _ignored(f, rules)]


def _ignore_rules(path: Path) -> list[tuple[bool, re.Pattern]]:
    """(exception?, pattern) per line of a .dockerignore, in order: the last match decides."""
    if not path.is_file():
        return []
    rules = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = line.removeprefix("!").strip().strip("/")
        if pattern:
            rules.append((keep, re.compile(_regex(pattern))))
    return rules


def _regex(pattern: str) -> str:
    """Docker's pattern syntax (Go's filepath.Match plus `**`): `*` and `?` stop at '/'; a
    pattern naming a folder covers everything under it."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 1)) > i:
            body = pattern[i + 1:end]
            out.append("[" + ("^" + body[1:] if body.startswith("^") else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "^" + "".join(out) + "(/.*)?$"


def _ignored(path: str, rules: list[tuple[bool, re.Pattern]]) -> bool:
    ignored = False
    for keep, rule in rules:
        if rule.match(path):
            ignored = not keep
    return ignored
