"""A machine with GPUs, as saber sees one, on a machine without: a fake `nvidia-smi` listing N
GPUs, and a `docker` shim that records each `docker run` (its argv, start and end) and drops
`--gpus` before calling the real engine (which has no NVIDIA runtime here)."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FakeGpus", "fake_gpus"]

_NVIDIA_SMI = """#!/bin/sh
case "$1" in
  -L) i=0; while [ $i -lt {count} ]; do echo "GPU $i: Fake GPU (UUID: GPU-fake-$i)"; i=$((i+1)); done ;;
  -q) echo '<?xml version="1.0" ?><nvidia_smi_log><cuda_version>12.0</cuda_version>'
      echo '<attached_gpus>{count}</attached_gpus></nvidia_smi_log>' ;;
  *) echo "fake nvidia-smi: $*" ;;
esac
"""

_DOCKER = """#!/bin/bash
if [ "$1" = run ]; then
  printf '%s %s start %s\\n' "$(date +%s.%N)" "$$" "$*" >> {log}
  args=(); skip=0
  for a in "$@"; do
    if [ $skip = 1 ]; then skip=0; continue; fi
    case "$a" in --gpus=*) continue ;; --gpus) skip=1; continue ;; esac
    args+=("$a")
  done
  {docker} "${{args[@]}}"; rc=$?
  printf '%s %s end\\n' "$(date +%s.%N)" "$$" >> {log}
  exit $rc
fi
exec {docker} "$@"
"""


@dataclass(frozen=True)
class FakeGpus:
    bin: Path  # put it first on PATH
    log: Path  # the shim's record of `docker run` calls

    def env(self, path: str) -> dict[str, str]:
        return {"PATH": f"{self.bin}:{path}", "SABER_GPU_LOCKS": str(self.bin.parent / "gpu-locks")}

    def runs(self) -> list[tuple[float, float, str, str]]:
        """(start, end, --gpus value or '', argv) of each finished `docker run`."""
        started: dict[str, tuple[float, str]] = {}
        done = []
        for line in self.log.read_text().splitlines() if self.log.exists() else []:
            at, pid, what, *rest = line.split(" ", 3)
            if what == "start":
                started[pid] = (float(at), rest[0] if rest else "")
            elif pid in started:
                start, argv = started.pop(pid)
                gpus = re.search(r"--gpus=(\S+)", argv)
                done.append((start, float(at), gpus.group(1) if gpus else "", argv))
        return sorted(done)


def fake_gpus(folder: Path, count: int) -> FakeGpus:
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    log = folder / "docker-runs.log"
    smi = bin_dir / "nvidia-smi"
    smi.write_text(_NVIDIA_SMI.replace("{count}", str(count)))
    docker = bin_dir / "docker"
    docker.write_text(_DOCKER.format(log=log, docker=shutil.which("docker")))
    for f in (smi, docker):
        f.chmod(0o755)
    return FakeGpus(bin_dir, log)
