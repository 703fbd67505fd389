"""Run one CWL tool with cwltool's own job machinery (Docker included), outside any workflow.

saber does the workflow part (links, scatter, valueFrom, when) itself; everything about the
tool - command line, staging, containers, globs, secondaryFiles - stays cwltool's.
"""

from __future__ import annotations

import collections
import copy
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saber._phases import mark
from saber.cwl._floats import restore_floats
from saber.execution._gpus import gpu_request, pinned_gpus
from saber.errors import StepFailed

__all__ = ["ToolRun", "run_tool", "preload_tool"]

log = logging.getLogger(__name__)
_EXIT = re.compile(r"exited with status: (-?\d+)")
_tools: dict[str, Any] = {}
_lock = threading.Lock()
# What the process monitor saw of the job running in this thread (tasks may run in threads).
_seen = threading.local()
_CAPTURED_TAIL = 1 << 20  # bytes of a captured stdout/stderr file searched for a score
Line = tuple[str, str]  # (stream, line): "stdout" or "stderr", without its newline


@dataclass(frozen=True)
class ToolRun:
    """What a finished tool left: its CWL output object and its captured streams.

    ``lines`` holds the tool's output lines in the order they arrived across both streams;
    the lines of a stdout/stderr the tool captures to a file (`stdout:`/`stderr:`), whose
    timing is unknown, follow, stderr's then stdout's (only their last MiB). ``container_s`` is
    how long the tool's process (`docker run`, or the tool itself without a container) ran.
    """

    outputs: dict
    stdout: str
    stderr: str
    lines: list[Line] = field(default_factory=list)
    container_s: float = 0.0
    cached: bool = False  # the step cache's outputs, no container started


def _key(step: dict) -> str:
    blob = json.dumps([step["tool"], step["requirements"], step["hints"]], sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()


@functools.cache
def _quick_container_monitor() -> None:
    """Replace cwltool's Docker memory monitor, which polls for the container id once a second
    and then waits a second for `docker stats` to stop: up to two seconds added to every step,
    longer than many steps run. saber does not report peak memory; it times the container.

    cwltool calls the monitor right after starting the process and waits for it right after
    the monitor returns, so waiting here measures the process's whole run."""
    from cwltool.job import CommandLineJob, ContainerCommandLineJob

    def docker_monitor(self, cidfile, tmpdir_prefix, cleanup_cidfile, docker_exe, process) -> None:
        _timed(self, process.wait)

    process_monitor = CommandLineJob.process_monitor  # no container: keep cwltool's, timed

    def timed_process_monitor(self, sproc) -> None:
        _timed(self, lambda: process_monitor(self, sproc))

    ContainerCommandLineJob.docker_monitor = docker_monitor
    CommandLineJob.process_monitor = timed_process_monitor


def _timed(job, wait: Callable[[], Any]) -> None:
    """Wait for ``job``'s process; note its run time and the files it captured its streams in."""
    mark("job setup")  # cwltool has started the process (`docker run`) just before
    start = time.monotonic()
    try:
        wait()
    finally:
        mark("container")
        _seen.seconds = getattr(_seen, "seconds", 0.0) + time.monotonic() - start
        _seen.captured = [*getattr(_seen, "captured", []), *_captured_lines(job)]


def _captured_lines(job) -> list[Line]:
    """The last lines of the files the job's `stderr:` and `stdout:` went to, before cwltool
    moves or removes them."""
    found: list[Line] = []
    for stream in ("stderr", "stdout"):
        if not (name := getattr(job, stream, None)):
            continue
        try:
            with open(Path(job.base_path_logs, name), "rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - _CAPTURED_TAIL))
                lines = f.read().decode(errors="replace").splitlines()
        except OSError:  # not written (the tool failed to start); cwltool reports that itself
            continue
        found.extend((stream, line) for line in (lines[1:] if size > _CAPTURED_TAIL else lines))
    return found


@functools.cache
def _secrets_off_docker_command_line() -> None:
    """cwltool passes a tool's environment as `docker run --env=NAME=VALUE` and puts a secret's
    value there, where `ps` shows it. A variable holding a secret becomes `--env=NAME` instead:
    docker then copies it from the docker client's own environment, which cwltool fills (its
    placeholder replaced by the value) just before it starts the client."""
    from cwltool.docker import DockerCommandLineJob

    create_runtime = DockerCommandLineJob.create_runtime

    def create_runtime_env_secrets(self, env, runtime_context):
        runtime, cidfile = create_runtime(self, env, runtime_context)
        store = runtime_context.secret_store
        if store is not None and store.secrets:
            for i, arg in enumerate(runtime):
                name, eq, value = arg.removeprefix("--env=").partition("=")
                if arg.startswith("--env=") and eq and store.has_secret(value):
                    runtime[i] = f"--env={name}"
                    env[name] = value
        return runtime, cidfile

    DockerCommandLineJob.create_runtime = create_runtime_env_secrets


@functools.cache
def _pinned_gpus_on_docker_command_line() -> None:
    """cwltool asks Docker for a number of GPUs (`--gpus=N`): any N of the host's, shared with
    whatever else runs there. The devices this task holds (saber.execution._gpus) are asked for
    instead, as `--gpus "device=0,1"` (quoted: Docker reads the value as CSV)."""
    from cwltool.docker import DockerCommandLineJob

    create_runtime = DockerCommandLineJob.create_runtime

    def create_runtime_pinned(self, env, runtime_context):
        runtime, cidfile = create_runtime(self, env, runtime_context)
        devices = getattr(_seen, "gpus", None)
        if devices:
            runtime = [f'--gpus="device={",".join(devices)}"' if arg.startswith("--gpus=") else arg
                       for arg in runtime]
        return runtime, cidfile

    DockerCommandLineJob.create_runtime = create_runtime_pinned


def _hide_secrets(job: dict, names: list[str], store) -> dict:
    """``job`` with each secret (the named inputs' values, and any secret reference anywhere)
    replaced by a placeholder of cwltool's secret store; the values are read from Airflow here,
    at the last moment."""
    from saber.execution._secrets import reveal
    from saber.plan import is_ref

    def hide(value):
        if is_ref(value):
            return store.add(reveal(value))
        if isinstance(value, list):
            return [hide(v) for v in value]
        if isinstance(value, dict):
            return {k: hide(v) for k, v in value.items()}
        return value

    job = hide(job)
    for name in names:
        if isinstance(job.get(name), str) and not store.has_secret(job[name]):
            job[name] = store.add(job[name])
    return job


def docker_network() -> str:
    """The network of containers whose tool asks for NetworkAccess: $SABER_DOCKER_NETWORK, else
    `host`, so a tool reaches servers on the host's loopback (a local `saber bossdb serve`) and
    works where Docker's default bridge is disabled."""
    return os.environ.get("SABER_DOCKER_NETWORK") or "host"


def preload_tool(step: dict):
    """Load (once per process) the cwltool object for a plan step; forked children reuse it."""
    key = _key(step)
    with _lock:
        if key not in _tools:
            from cwltool.load_tool import load_tool

            from saber.cwl import loading_context

            doc = restore_floats(copy.deepcopy(step["tool"]), step.get("floats", {}))
            doc.setdefault("cwlVersion", step.get("cwlVersion") or "v1.2")
            from cwltool.update import INTERNAL_VERSION

            if step.get("originalCwlVersion") and doc["cwlVersion"] == INTERNAL_VERSION:
                # Already updated by cwltool at compile time; a process taken out of a packed
                # $graph lacks this mark, without which cwltool refuses the internal version.
                doc.setdefault("http://commonwl.org/cwltool#original_cwlVersion", step["originalCwlVersion"])
            if step.get("namespaces"):
                doc.setdefault("$namespaces", step["namespaces"])
            ctx = loading_context(requirements=copy.deepcopy(step["requirements"]),
                                  hints=copy.deepcopy(step["hints"]), do_validate=False)
            _tools[key] = load_tool(doc, ctx)
        return _tools[key]


class _ExitCode(logging.Handler):
    """cwltool logs a tool's exit code rather than returning it; catch it on the way."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.code: int | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if m := _EXIT.search(record.getMessage()):
            self.code = int(m.group(1))


Echo = Callable[[str, str], None]


class _Lines:
    """The lines of both streams in the order they arrive; each stream's pump adds to it. Only
    the last ``keep`` are held: a chatty tool must not fill memory (the files have them all)."""

    def __init__(self, keep: int = 200_000) -> None:
        self.lines: collections.deque[Line] = collections.deque(maxlen=keep)
        self._lock = threading.Lock()

    def add(self, stream: str, line: str) -> None:
        with self._lock:
            self.lines.append((stream, line))


class _Tee:
    """A pipe the tool writes to: each line goes to a file, to ``lines`` and, live, to ``echo``."""

    def __init__(self, path: Path, name: str, echo: Echo | None, lines: _Lines) -> None:
        read_fd, write_fd = os.pipe()
        self.writer = os.fdopen(write_fd, "wb")
        self._reader = os.fdopen(read_fd, "rb")
        self._file = open(path, "wb")
        self._thread = threading.Thread(target=self._pump, args=(name, echo, lines), daemon=True)
        self._thread.start()

    def _pump(self, name: str, echo: Echo | None, lines: _Lines) -> None:
        for raw in self._reader:
            self._file.write(raw)
            line = raw.decode(errors="replace").rstrip("\r\n")
            lines.add(name, line)
            if echo:
                echo(name, line)
        self._file.close()

    def close(self) -> None:
        # cwltool closes the writer after the job; closing again is harmless.
        self.writer.close()
        self._thread.join(timeout=10)
        self._reader.close()


@functools.cache
def _step_executor_class(*, toplevel: bool, in_place: bool):
    from cwltool.executors import SingleJobExecutor

    class StepExecutor(SingleJobExecutor):
        """cwltool's executor for one tool. A tool that is a step of a workflow is not the top
        level, so secondaryFiles are checked, not discovered, as cwltool's own WorkflowStep does;
        and what such a step updated in place stays where it is (see _leave_updated_in_place)."""

        def run_jobs(self, process, job_order_object, logger, runtime_context) -> None:
            if not toplevel:
                runtime_context.toplevel = False
            super().run_jobs(process, job_order_object, logger, runtime_context)
            if in_place and not toplevel:
                # The job has staged its inputs; from here the path mapper only relocates outputs.
                runtime_context.path_mapper = _leave_updated_in_place(
                    runtime_context.path_mapper, self.output_dirs)

    return StepExecutor


def _leave_updated_in_place(base, output_dirs):
    """A path mapper for relocating a step's outputs that maps an output lying outside the
    step's own output folders (an input the tool updated in place, InplaceUpdateRequirement)
    onto itself. cwltool relocates only a workflow's final outputs, so a Directory one step
    updates in place stays one Directory for the steps after it; moving each step's outputs
    into run storage would otherwise copy it, and the workflow would end with two."""
    from cwltool.pathmapper import MapperEnt, PathMapper

    base = base or PathMapper
    roots = [os.path.realpath(d).rstrip("/") + "/" for d in output_dirs]

    class LeaveUpdatedInPlace(base):
        def setup(self, referenced_files, basedir) -> None:
            super().setup(referenced_files, basedir)
            for key, ent in list(self._pathmap.items()):
                if ent.resolved.startswith("_:"):
                    continue
                real = os.path.realpath(ent.resolved)
                if not any((real + "/").startswith(root) for root in roots):
                    self._pathmap[key] = MapperEnt(real, real, ent.type, ent.staged)

    return LeaveUpdatedInPlace


def _in_place(step: dict) -> bool:
    return any(r.get("class") == "InplaceUpdateRequirement" and r.get("inplaceUpdate")
               for r in [*step["hints"], *step["requirements"]])


def _unshare_files(value: Any) -> None:
    """Give each file under the job's Files and Directories an inode of its own: a tool that
    updates its inputs in place must not change a step-cache entry or an --outdir that shares
    the file through a hard link."""
    from saber.execution._paths import path_of

    if isinstance(value, list):
        for v in value:
            _unshare_files(v)
        return
    if not isinstance(value, dict):
        return
    if value.get("class") in ("File", "Directory"):
        path = path_of(value)
        if path is not None:
            files = [path] if path.is_file() else (p for p in path.rglob("*") if p.is_file())
            for f in files:
                if not f.is_symlink() and f.stat().st_nlink > 1:
                    own = f.with_name(f".{f.name}.saber-own")
                    shutil.copy2(f, own)
                    os.replace(own, f)
        for extra in value.get("secondaryFiles") or []:
            _unshare_files(extra)
        return
    for v in value.values():
        _unshare_files(v)


def run_tool(step: dict, job: dict, *, outdir: Path, workdir: Path, echo: Echo | None = None,
             floats: dict[str, str] | None = None) -> ToolRun:
    """Run ``step``'s tool on ``job``; outputs are moved under ``outdir``.

    The tool's stdout/stderr (unless the tool captures them) go to files in ``workdir`` and,
    line by line as they come, to ``echo(stream, line)``. Raises StepFailed with the tool's exit
    code and the tail of its stderr.
    """
    from cwltool.context import RuntimeContext

    from cwltool.secrets import SecretStore

    process = preload_tool(step)
    _quick_container_monitor()
    _secrets_off_docker_command_line()
    _pinned_gpus_on_docker_command_line()
    # Step inputs the tool does not declare served valueFrom and `when`; the tool never sees
    # them (CWL 1.2, WorkflowStepInput).
    declared = {i["id"].rsplit("#", 1)[-1].rsplit("/", 1)[-1] for i in step["tool"]["inputs"]}
    job = {k: v for k, v in job.items() if k in declared}
    job = restore_floats(job, floats or {})
    secrets = SecretStore()
    job = _hide_secrets(job, step.get("secrets") or [], secrets)
    in_place = _in_place(step)
    if in_place:
        _unshare_files(job)
    outdir.mkdir(parents=True, exist_ok=True)
    for sub in ("tmp", "out"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    out_path, err_path = workdir / "stdout.txt", workdir / "stderr.txt"
    handler = _ExitCode()
    cwl_log = logging.getLogger("cwltool")
    # cwltool prints to stderr as well as logging; inside a task that shows every line twice.
    echoes = [h for h in cwl_log.handlers if type(h) is logging.StreamHandler]
    for h in echoes:
        cwl_log.removeHandler(h)
    cwl_log.addHandler(handler)
    lines = _Lines()
    out, err = _Tee(out_path, "stdout", echo, lines), _Tee(err_path, "stderr", echo, lines)
    _seen.seconds, _seen.captured = 0.0, []
    try:
        ctx = RuntimeContext({
            "outdir": str(outdir),
            "basedir": str(workdir),
            "tmpdir_prefix": str(workdir / "tmp") + "/",
            "tmp_outdir_prefix": str(workdir / "out") + "/",
            "stagedir": str(workdir / "stage"),
            "move_outputs": "move",
            "default_stdout": out.writer,
            "default_stderr": err.writer,
            "rm_tmpdir": True,
            "secret_store": secrets,
            "custom_net": docker_network(),
        })
        executor = _step_executor_class(toplevel=bool(step.get("toplevel")), in_place=in_place)()
        wanted = gpu_request(step)
        with pinned_gpus(wanted, what=f"step {step['task_id']}") if wanted else nullcontext([]) as devices:
            _seen.gpus = devices
            outputs, status = executor(process, copy.deepcopy(job), ctx, logger=cwl_log)
    except Exception as e:  # cwltool raises WorkflowException for bad inputs, docker errors...
        out.close()
        err.close()
        raise StepFailed(step["task_id"], handler.code, _tail(err_path) or str(e)) from e
    finally:
        cwl_log.removeHandler(handler)
        for h in echoes:
            cwl_log.addHandler(h)
    out.close()
    err.close()
    if status != "success" or outputs is None:
        raise StepFailed(step["task_id"], handler.code, _tail(err_path))
    if step["class"] == "CommandLineTool" and _load_listing(step) == "no_listing":
        _drop_listings(outputs)
    return ToolRun(outputs=outputs, stdout=_read(out_path), stderr=_read(err_path),
                   lines=[*lines.lines, *_seen.captured], container_s=_seen.seconds)


def _load_listing(step: dict) -> str:
    """The tool's loadListing: its LoadListingRequirement, else CWL's default for its version."""
    for req in reversed([*step["hints"], *step["requirements"]]):
        if req.get("class") == "LoadListingRequirement" and req.get("loadListing"):
            return req["loadListing"]
    return "deep_listing" if step.get("originalCwlVersion") == "v1.0" else "no_listing"


def _drop_listings(value: Any) -> None:
    """cwltool lists every output Directory when it moves a tool's outputs out of its working
    directory, which only the final outputs of a run go through in cwltool's own workflows. A
    step's outputs must reach the next step as cwltool passes them, without that listing, or a
    Directory updated in place later (InplaceUpdateRequirement) shows stale contents."""
    if isinstance(value, list):
        for v in value:
            _drop_listings(v)
    elif isinstance(value, dict):
        if value.get("class") == "Directory":
            value.pop("listing", None)
        else:
            for v in value.values():
                _drop_listings(v)


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(_read(path).splitlines()[-lines:])
