"""The GPU path on a real GPU machine (run by hand where one is lent; stdlib only, no venv):

    python3 tests/device/gpu_check.py

1. saber's device list from the real `nvidia-smi -L` (saber.execution._gpus.gpu_devices);
2. the allocator on those ids: two one-GPU holders in two processes on this host's devices,
   with the intervals each held which device;
3. Docker with the exact `--gpus` argument saber gives a pinned step: a container started with
   `--gpus="device=N"` runs `nvidia-smi -L` inside and sees only that device; two containers
   pinned through the allocator at once. The image is made here from the host's own files
   (nothing can be pulled): a shell and its libraries, `docker import`ed; the NVIDIA runtime
   adds nvidia-smi and the driver to the container.
Prints what it saw; exits 1 if a check fails.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
failures: list[str] = []


def check(ok: bool, what: str) -> None:
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def load_allocator():
    """saber.execution._gpus without saber's package imports (Airflow, cwltool: not here)."""
    for name, folder in (("saber", ROOT / "saber"), ("saber.execution", ROOT / "saber" / "execution")):
        package = types.ModuleType(name)
        package.__path__ = [str(folder)]
        sys.modules[name] = package
    return importlib.import_module("saber.execution._gpus")


def hold(device_queue, seconds: float, docker_image: str | None) -> None:
    gpus = load_allocator()
    with gpus.pinned_gpus(gpus.GpuRequest(1, 1), what=f"holder {os.getpid()}") as ids:
        start = time.time()
        seen = ""
        if docker_image:
            out = subprocess.run(["docker", "run", "--rm", "--network", "none", f'--gpus="device={ids[0]}"',
                                  docker_image, "nvidia-smi", "-L"], capture_output=True, text=True, timeout=120)
            seen = (out.stdout + out.stderr).strip()
        time.sleep(max(0.0, seconds - (time.time() - start)))
        device_queue.put((ids[0], start, time.time(), seen))


def make_image() -> str | None:
    """A tiny image from the host's /bin/sh and its libraries, imported into Docker."""
    if not shutil.which("docker") or subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        print("no working Docker here: the container checks are skipped")
        return None
    sh = os.path.realpath("/bin/sh")
    libs = [line.split("=>")[-1].split("(")[0].strip() for line in
            subprocess.run(["ldd", sh], capture_output=True, text=True).stdout.splitlines()]
    files = [sh, *[lib for lib in libs if lib.startswith("/")]]
    with tempfile.TemporaryDirectory() as tmp:
        tar_path = Path(tmp) / "root.tar"
        with tarfile.open(tar_path, "w") as tar:
            for f in files:
                tar.add(os.path.realpath(f), arcname=f.lstrip("/"))
            for name in ("bin/sh",):
                info = tarfile.TarInfo(name)
                info.type, info.linkname = tarfile.SYMTYPE, sh
                if name != sh.lstrip("/"):
                    tar.addfile(info)
            for d in ("tmp", "usr/bin", "proc", "dev", "sys", "etc"):
                info = tarfile.TarInfo(d)
                info.type, info.mode = tarfile.DIRTYPE, 0o1777 if d == "tmp" else 0o755
                tar.addfile(info)
        subprocess.run(["docker", "import", str(tar_path), "saber-gpu-check:local"], check=True,
                       capture_output=True)
    return "saber-gpu-check:local"


def main() -> int:
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
    print("nvidia-smi -L:\n" + listed.stdout.strip())
    gpus = load_allocator()
    os.environ.pop("SABER_GPUS", None)
    devices = gpus.gpu_devices()
    check(len(devices) == listed.stdout.count("\nGPU ") + listed.stdout.startswith("GPU "),
          f"gpu_devices() from nvidia-smi -L: {devices}")
    os.environ["SABER_GPU_LOCKS"] = tempfile.mkdtemp(prefix="saber-gpu-locks-")
    if shutil.which("docker"):
        print("docker:", subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                                        capture_output=True, text=True).stdout.strip() or "none")
        print("runtimes:", subprocess.run(["docker", "info", "--format", "{{json .Runtimes}}"],
                                          capture_output=True, text=True).stdout.strip()[:300])
    print("container runtimes on PATH:", [t for t in ("docker", "podman", "nvidia-container-cli",
                                                     "nvidia-ctk", "singularity", "apptainer") if shutil.which(t)])
    image = make_image()
    if image:
        for device in devices[:2]:
            out = subprocess.run(["docker", "run", "--rm", "--network", "none", f'--gpus="device={device}"', image,
                                  "nvidia-smi", "-L"], capture_output=True, text=True, timeout=120)
            inside = (out.stdout + out.stderr).strip()
            check(out.returncode == 0 and inside.count("GPU ") == 1,
                  f'--gpus="device={device}": the container sees {inside!r}')
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    holders = [ctx.Process(target=hold, args=(queue, 2.0, image)) for _ in range(max(2, len(devices)) + 1)]
    started = time.time()
    for p in holders:
        p.start()
    for p in holders:
        p.join(300)
    spans = sorted(queue.get() for _ in holders)
    for device, start, end, seen in spans:
        print(f"  device {device}: {start - started:6.2f} .. {end - started:6.2f} s  {seen[:80]}")
    overlaps = [(a, b) for a, b in zip(spans, spans[1:]) if a[0] == b[0] and a[2] > b[1]]
    check(not overlaps and len(spans) == len(holders),
          f"{len(holders)} one-GPU holders on {len(devices)} device(s): never two on one device")
    if image:
        check(all(s[3].count("GPU ") == 1 for s in spans), "each pinned container saw exactly one GPU")
    print("all checks passed" if not failures else f"{len(failures)} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
