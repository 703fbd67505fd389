"""The GPU allocator: device ids from $SABER_GPUS or nvidia-smi -L, held by a lock per device
across processes, released when the holder ends however it ends."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from saber.errors import SaberError
from saber.execution._gpus import GpuRequest, _listed, gpu_devices, gpu_request, pinned_gpus


@pytest.fixture
def locks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SABER_GPU_LOCKS", str(tmp_path / "locks"))
    monkeypatch.setenv("SABER_GPUS", "0,1")
    return tmp_path / "locks"


def test_devices_come_from_saber_gpus_or_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SABER_GPUS", " 2, 3 ")
    assert gpu_devices() == ["2", "3"]
    monkeypatch.setenv("SABER_GPUS", "")
    assert gpu_devices() == []
    monkeypatch.delenv("SABER_GPUS")
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA H200 (UUID: GPU-a)'\necho 'GPU 1: NVIDIA H200 (UUID: GPU-b)'\n"
                    "echo '  MIG 1g.18gb Device 0: (UUID: MIG-c)'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    _listed.cache_clear()
    assert gpu_devices() == ["0", "1"]


def test_a_step_asks_for_its_cuda_counts() -> None:
    assert gpu_request({"resources": {"gpus": 0}}) is None
    wanted = gpu_request({"resources": {"gpus": 1, "cuda": {"cudaDeviceCountMin": 1, "cudaDeviceCountMax": 2}}})
    assert (wanted.low, wanted.high) == (1, 2)
    wanted = gpu_request({"resources": {"gpus": 2, "cuda": {"cudaDeviceCountMin": 2}}})
    assert (wanted.low, wanted.high) == (2, 2)


def test_holders_get_distinct_devices_and_a_third_waits(locks: Path) -> None:
    with pinned_gpus(GpuRequest(1, 1), what="a") as a, pinned_gpus(GpuRequest(1, 1), what="b") as b:
        assert sorted(a + b) == ["0", "1"]
        waits: list[float] = []
        with pytest.raises(SaberError, match="waited 0.5 s for 1 free GPU"):
            with pinned_gpus(GpuRequest(1, 1), what="c", timeout=0.5, sleep=lambda s: (waits.append(s), time.sleep(0.1))):
                pass
        assert waits
    with pinned_gpus(GpuRequest(1, 2), what="d") as d:  # both free again: it takes up to its maximum
        assert d == ["0", "1"]


def test_more_than_the_host_has_is_refused_at_once(locks: Path) -> None:
    with pytest.raises(SaberError, match=r"step x needs 3 GPU\(s\) but this host has 2 \(\$SABER_GPUS lists 0, 1\)"):
        with pinned_gpus(GpuRequest(3, 3), what="step x"):
            pass


def _hold(queue, seconds: float) -> None:
    with pinned_gpus(GpuRequest(1, 1), what="child") as ids:
        queue.put((os.getpid(), ids[0], time.time()))
        time.sleep(seconds)
        queue.put((os.getpid(), ids[0], time.time()))


def test_processes_never_share_a_device(locks: Path) -> None:
    """Five one-GPU holders in five processes on two devices: on each device, the intervals
    never overlap."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_hold, args=(queue, 0.4)) for _ in range(5)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    seen: dict[int, list] = {}
    while not queue.empty():
        pid, device, at = queue.get()
        seen.setdefault(pid, []).append((device, at))
    spans = sorted((marks[0][0], marks[0][1], marks[1][1]) for marks in seen.values())
    assert len(spans) == 5 and {d for d, _, _ in spans} == {"0", "1"}
    for (d1, _, end), (d2, start, _) in zip(spans, spans[1:]):
        if d1 == d2:
            assert end <= start, spans


def test_a_killed_holder_frees_its_device(locks: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    held = [ctx.Process(target=_hold, args=(queue, 60)) for _ in range(2)]
    for p in held:
        p.start()
    for _ in held:
        queue.get(timeout=30)
    with pytest.raises(SaberError, match="waited"):
        with pinned_gpus(GpuRequest(1, 1), what="late", timeout=0.3):
            pass
    os.kill(held[0].pid, signal.SIGKILL)
    held[0].join(10)
    with pinned_gpus(GpuRequest(1, 1), what="late", timeout=10) as ids:
        assert len(ids) == 1
    held[1].kill()
    held[1].join(10)
