"""GPUs pinned per task: each GPU step gets specific device ids, held by a lock per device that
every process on the host sees, so two tasks never share a GPU (whatever worker processes,
Celery workers or saber runs they belong to), and a killed task frees its devices with it.

The devices are the ones `nvidia-smi -L` lists, or `$SABER_GPUS` (e.g. `0,1`; empty: none) to
give a worker a subset. The locks are flock(2) locks on files in `$SABER_GPU_LOCKS` (default
/tmp/saber-gpu-locks): the kernel releases them when the holder exits, however it exits.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import random
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from saber.errors import SaberError

__all__ = ["GpuRequest", "gpu_devices", "gpu_request", "pinned_gpus"]

log = logging.getLogger(__name__)
_LISTED = re.compile(r"^GPU (\d+):", re.MULTILINE)


def gpu_devices() -> list[str]:
    """This host's GPU ids for saber: `$SABER_GPUS` if set, else what `nvidia-smi -L` lists."""
    if "SABER_GPUS" in os.environ:
        text = os.environ["SABER_GPUS"].strip()
        return [] if text.lower() in ("", "none") else [d.strip() for d in text.split(",") if d.strip()]
    return list(_listed(shutil.which("nvidia-smi") or ""))


@functools.cache
def _listed(exe: str) -> tuple[str, ...]:
    if not exe:
        return ()
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return tuple(_LISTED.findall(out.stdout)) if out.returncode == 0 else ()


class GpuRequest:
    """How many devices a step wants: at least ``low``, at most ``high`` (CUDARequirement's
    cudaDeviceCountMin and cudaDeviceCountMax)."""

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, max(low, high)

    def __repr__(self) -> str:
        return f"GpuRequest({self.low}, {self.high})"


def gpu_request(step: dict) -> GpuRequest | None:
    """The step's GPU request from its plan resources; None for a step without CUDARequirement."""
    res = step.get("resources") or {}
    if not res.get("gpus"):
        return None
    cuda = res.get("cuda") or {}
    high = cuda.get("cudaDeviceCountMax")
    high = int(high) if isinstance(high, (int, float)) and not isinstance(high, bool) else res["gpus"]
    return GpuRequest(int(res["gpus"]), high)


def _lock_dir() -> Path:
    root = Path(os.environ.get("SABER_GPU_LOCKS", "/tmp/saber-gpu-locks"))
    if not root.is_dir():
        root.mkdir(parents=True, exist_ok=True)
        try:
            root.chmod(0o1777)  # shared by every user's tasks on the host, as /tmp is
        except OSError:
            pass
    return root


@contextmanager
def pinned_gpus(request: GpuRequest, *, what: str, timeout: float | None = None,
                sleep: Callable[[float], None] = time.sleep) -> Iterator[list[str]]:
    """Hold between ``request.low`` and ``request.high`` free devices of this host while the
    block runs; wait while fewer than ``request.low`` are free (other tasks hold them).

    Raises:
        SaberError: the host has fewer devices than the request's minimum (waiting cannot help),
        or ``timeout`` seconds passed without enough free ones.
    """
    devices = gpu_devices()
    if len(devices) < request.low:
        where = "$SABER_GPUS" if "SABER_GPUS" in os.environ else "nvidia-smi -L"
        raise SaberError(f"{what} needs {request.low} GPU(s) but this host has {len(devices)} "
                         f"({where} lists {', '.join(devices) or 'none'})")
    folder = _lock_dir()
    started = time.monotonic()
    delay = 0.2
    held = _take(folder, devices, request)
    while held is None:
        if timeout is not None and time.monotonic() - started > timeout:
            raise SaberError(f"{what} waited {timeout:g} s for {request.low} free GPU(s) of {len(devices)}")
        if delay == 0.2:
            log.info("%s waits for %d free GPU(s): other tasks hold them", what, request.low)
        sleep(delay * (0.5 + random.random()))  # jitter: waiting tasks do not retry in step
        delay = min(delay * 2, 5.0)
        held = _take(folder, devices, request)
    ids = [device for device, _ in held]
    log.info("%s holds GPU(s) %s", what, ",".join(ids))
    try:
        yield ids
    finally:
        for _, fd in held:
            os.close(fd)  # closing the file releases its lock


def _take(folder: Path, devices: list[str], request: GpuRequest) -> list[tuple[str, int]] | None:
    """Lock as many free devices as the request allows (at least its minimum), else none."""
    held: list[tuple[str, int]] = []
    for device in devices:
        if len(held) == request.high:
            break
        fd = os.open(folder / f"gpu-{device}.lock", os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        held.append((device, fd))
    if len(held) >= request.low:
        return held
    for _, fd in held:
        os.close(fd)
    return None
