"""The step cache: a step whose tool, image and inputs were run before reuses that run's outputs.

Shared by every sweep point, study and resume that uses one run storage (cwltool's
``--cachedir``, Nextflow's ``-resume``). The key covers the tool document with its requirements
and hints (resources included), the Docker image's content id (a rebuilt ``:0.1.0`` misses), and
every input value with each File's and Directory's content checksum (not its path: an upstream
step's output lies in a different run folder at every point). An entry is the output files
(hard links, so it costs no space while run storage holds them), the CWL output object, the
tool's output lines (a cached scored step scores again) and the key's parts; it is built in a
scratch folder and published by one rename, so a reader never sees half of one. A lock per key
makes a second task with the same key wait for the first and reuse its entry instead of
running the same container twice (16 sweep points starting at once run a shared step once).

Not cached: a tool with ``WorkReuse: {enableReuse: false}``, one that updates its inputs in place
(InplaceUpdateRequirement), and one with network access (it may push to BossDB: effects beyond
its outputs) unless it says ``WorkReuse: {enableReuse: true}``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from saber.execution._paths import path_of

__all__ = ["CacheEntry", "CacheKey", "StepCache", "cache_key", "cacheable"]

_VERSION = 1  # bump when the key's recipe changes: old entries then simply miss
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class CacheKey:
    digest: str
    parts: dict[str, str]  # what went into it, each as its own digest: "tool", "image", "input x", ...


@dataclass(frozen=True)
class CacheEntry:
    outputs: dict  # the CWL output object, locations under the task's outdir
    lines: list[tuple[str, str]]
    source: dict  # which run made it: dag_id, run_id, task_id, created


def _requirement(step: dict, cls: str) -> dict | None:
    for req in reversed([*step.get("hints", []), *step.get("requirements", [])]):
        if req.get("class") == cls:
            return req
    return None


def cacheable(step: dict) -> tuple[bool, str]:
    """(whether the step may be cached, why not)."""
    reuse = _requirement(step, "WorkReuse")
    if reuse is not None and reuse.get("enableReuse") is False:
        return False, "WorkReuse: enableReuse is false"
    if _requirement(step, "InplaceUpdateRequirement") or _requirement(step, "http://commonwl.org/cwltool#InplaceUpdateRequirement"):
        return False, "it updates its inputs in place (InplaceUpdateRequirement)"
    network = _requirement(step, "NetworkAccess")
    if network is not None and network.get("networkAccess") is True and (reuse is None or reuse.get("enableReuse") is not True):
        return False, "it has network access (add WorkReuse: {enableReuse: true} if its outputs are all it does)"
    return True, ""


def cache_key(step: dict, job: dict, floats: dict[str, str], image_id: str | None) -> CacheKey:
    tool = _ids_shortened({"tool": step["tool"], "requirements": step["requirements"], "hints": step["hints"]})
    parts = {"saber cache": str(_VERSION), "tool": _digest(tool), "image": image_id or "(no container)"}
    for name in sorted(job):
        parts[f"input {name}"] = _digest(_content(job[name]))
    # How a float is written (1e-05 vs 0.00001) reaches the command line; only the job's own
    # floats matter (the table holds every float of the run's job file).
    used = {repr(f) for f in _floats_in(job)}
    if texts := {k: v for k, v in floats.items() if k in used and v != k}:
        parts["number texts"] = _digest(texts)
    return CacheKey(_digest(parts), parts)


def _floats_in(value: Any) -> Iterator[float]:
    if type(value) is float:
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _floats_in(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _floats_in(v)


def image_id(step: dict) -> str | None:
    """The content id of the step's Docker image (``docker image inspect``); None when the tool
    runs without a container or the image is not there (the run then fails as it would)."""
    docker = _requirement(step, "DockerRequirement")
    if docker is None:
        return None
    name = docker.get("dockerImageId") or docker.get("dockerPull")
    if not name:
        return None
    found = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", name],
                           capture_output=True, text=True, timeout=60)
    return found.stdout.strip() if found.returncode == 0 else None


class StepCache:
    """Entries under ``root`` (``<run storage>/.cache``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _entry(self, key: CacheKey) -> Path:
        return self.root / key.digest[:2] / key.digest

    @contextlib.contextmanager
    def claim(self, key: CacheKey) -> Iterator[None]:
        """Held while a task runs the tool for ``key``: a second one waits, then finds the entry."""
        locks = self.root / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / f"{key.digest}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def get(self, key: CacheKey, outdir: Path) -> CacheEntry | None:
        """The entry's outputs linked into ``outdir`` (where the tool would have put them)."""
        entry = self._entry(key)
        try:
            record = json.loads((entry / "entry.json").read_text())
        except (OSError, ValueError):
            return None
        outdir.mkdir(parents=True, exist_ok=True)
        for item in (entry / "outputs").iterdir():
            _link_tree(item, outdir / item.name)
        outputs = _relocate(record["outputs"], "saber-cache://", outdir.as_uri() + "/")
        os.utime(entry, None)  # `saber gc` keeps entries used lately
        return CacheEntry(outputs=outputs, lines=[tuple(x) for x in record["lines"]], source=record["source"])

    def put(self, key: CacheKey, outputs: dict, outdir: Path, lines: list[tuple[str, str]], source: dict) -> bool:
        """Publish a finished run's outputs (the files under ``outdir``) as ``key``'s entry."""
        final = self._entry(key)
        if final.exists():
            return False
        scratch_root = self.root / "tmp"
        scratch_root.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f"{key.digest[:12]}.", dir=scratch_root))
        try:
            (scratch / "outputs").mkdir()
            if outdir.exists():
                for item in outdir.iterdir():
                    _link_tree(item, scratch / "outputs" / item.name)
            record = {"key": key.parts, "source": {**source, "created": time.time()},
                      "outputs": _relocate(outputs, outdir.as_uri() + "/", "saber-cache://"),
                      "lines": lines[-10_000:]}
            (scratch / "entry.json").write_text(json.dumps(record, default=str))
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(scratch, final)  # atomic: the entry appears whole or not at all
            except OSError:
                return False  # another task published the same key first
            return True
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def explain(self, key: CacheKey, step_name: str) -> str:
        """Why ``key`` missed, against the last key this step (by name) had; remembers this one."""
        last_dir = self.root / "last"
        last_dir.mkdir(parents=True, exist_ok=True)
        path = last_dir / f"{hashlib.sha256(step_name.encode()).hexdigest()[:32]}.json"
        try:
            before = json.loads(path.read_text())
        except (OSError, ValueError):
            before = None
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(key.parts))
        os.replace(tmp, path)
        if before is None:
            return "no earlier run of this step"
        changed = [name for name in sorted({*before, *key.parts}) if before.get(name) != key.parts.get(name)]
        if not changed:
            return "its entry was removed (saber gc) or never published"
        return "changed since the last run of this step: " + ", ".join(changed)


def _ids_shortened(value: Any) -> Any:
    """The tool document without where it was loaded from: an inline tool gets a random id at
    every load (`_:<uuid>`) and every id carries the workflow file's path; a moved or reloaded
    workflow must still hit."""
    if isinstance(value, list):
        return [_ids_shortened(v) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "id" and isinstance(v, str):
                out[k] = "" if v.startswith("_:") else v.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
            else:
                out[k] = _ids_shortened(v)
        return out
    return value


def _content(value: Any) -> Any:
    """``value`` with each File and Directory replaced by what it holds (checksums), not where."""
    if isinstance(value, list):
        return [_content(v) for v in value]
    if not isinstance(value, dict):
        return value
    if value.get("class") == "File":
        path = path_of(value)
        return {"class": "File", "basename": value.get("basename") or (path.name if path else None),
                "checksum": _file_checksum(path) if path else value.get("contents"),
                "secondaryFiles": _content(value.get("secondaryFiles") or [])}
    if value.get("class") == "Directory":
        path = path_of(value)
        listing = _dir_checksum(path) if path and path.is_dir() else _content(value.get("listing") or [])
        return {"class": "Directory", "basename": value.get("basename") or (path.name if path else None),
                "listing": listing}
    return {k: _content(v) for k, v in sorted(value.items())}


def _file_checksum(path: Path) -> str:
    """sha256 of the file's bytes, remembered per (path, size, mtime, inode) beside it in the
    process: a large volume shared by every sweep point is read once per task."""
    try:
        st = path.stat()
    except OSError:
        return f"missing:{path.name}"
    memo = (str(path), st.st_size, st.st_mtime_ns, st.st_ino)
    if memo not in _checksums:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(_HASH_CHUNK):
                h.update(chunk)
        _checksums[memo] = h.hexdigest()
    return _checksums[memo]


_checksums: dict[tuple, str] = {}


def _dir_checksum(path: Path) -> str:
    h = hashlib.sha256()
    for item in sorted(path.rglob("*")):
        rel = item.relative_to(path).as_posix()
        h.update(f"{rel}\0{'d' if item.is_dir() else _file_checksum(item)}\n".encode())
    return h.hexdigest()


def _link_tree(src: Path, dst: Path) -> None:
    """Hard-link ``src`` (a file or a folder, recursively) at ``dst``; copy across filesystems."""
    if src.is_dir() and not src.is_symlink():
        dst.mkdir(parents=True, exist_ok=True)
        for item in src.iterdir():
            _link_tree(item, dst / item.name)
        return
    if dst.exists() or dst.is_symlink():
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _relocate(value: Any, old: str, new: str) -> Any:
    if isinstance(value, list):
        return [_relocate(v, old, new) for v in value]
    if isinstance(value, dict):
        out = {k: _relocate(v, old, new) for k, v in value.items()}
        for field in ("location", "path"):
            text = out.get(field)
            if isinstance(text, str):
                if field == "path" and old.startswith("file://"):
                    prefix = unquote(urlparse(old).path)
                    if text.startswith(prefix):
                        out.pop("path")  # cwltool derives it from the location again
                elif field == "path" and text.startswith(old):
                    out.pop("path")
                elif text.startswith(old):
                    out[field] = new + text[len(old):]
        return out
    return value


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def run_cached(step: dict, job: dict, *, floats: dict[str, str], outdir: Path, cache: StepCache | None,
               name: str, source: dict, say, run) -> Any:
    """``run()`` (which runs the tool into ``outdir``) unless the cache holds its result; a
    ToolRun either way (``cached`` set on a hit). ``say`` puts one line in the task log."""
    from dataclasses import replace

    from saber.execution._tool import ToolRun

    if cache is None:
        say("step cache: off for this run (saber run --no-cache, or saber cwl-runner)")
        return run()
    ok, why = cacheable(step)
    if not ok:
        say(f"step cache: not used for step {step['task_id']}: {why}")
        return run()
    declared = {i["id"].rsplit("#", 1)[-1].rsplit("/", 1)[-1] for i in step["tool"]["inputs"]}
    key = cache_key(step, {k: v for k, v in job.items() if k in declared}, floats, image_id(step))
    with cache.claim(key):
        hit = cache.get(key, outdir)
        if hit is not None:
            src = hit.source
            say(f"step cache: hit {key.digest[:12]}: the outputs of step {src.get('task_id')} of run "
                f"{src.get('run_id')} (DAG {src.get('dag_id')}) are reused; no container started")
            return ToolRun(outputs=hit.outputs, stdout="", stderr="", lines=list(hit.lines), cached=True)
        say(f"step cache: miss {key.digest[:12]}: {cache.explain(key, name)}")
        result = run()
        if cache.put(key, result.outputs, outdir, list(result.lines), source):
            say(f"step cache: stored {key.digest[:12]} for later runs")
        return replace(result, cached=False)
