"""P5 (first part): pull + push of a 512 x 512 x 64 uint8 volume through saber's volume layer
(saber.volumes.PrecomputedStore, Z, Y, X arrays, every call checked against the channel's
frame and dtype) against the raw library on the same store: tensorstore's
neuroglancer_precomputed driver used the fastest way we know (the same Z, Y, X data through a
transposed view, `.T`, which matches the chunks' x-fastest layout), no checks. Goal: saber /
raw throughput >= 0.8. An extra row: tensorstore given a C-ordered X, Y, Z array (the naive
use), which pays a transpose inside every write and read.

    /opt/saber-venv/bin/python bench/p5_volumes.py [--repeat 7]

Both write then read the whole volume (chunks 64 x 64 x 16, raw encoding) in a fresh folder of
the same file system, in the same process, alternating, `--repeat` times. Dirty pages are
flushed (os.sync) and the last round's files removed before every timed round, so one round's
write-back does not slow the next; the ratio is the median of the rounds' paired ratios.
Second table: the same push + pull through `saber bossdb serve` (started as its own process on
127.0.0.1, no token) with saber's BossDB back end (intern's BossRemote, blosc over HTTP) against
direct access to the server's store (saber.volumes.PrecomputedStore on the same folder): what
the Boss API costs a tool that runs offline.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import tensorstore as ts

from saber.volumes import BossVolumes, Box, ChannelRef, PrecomputedStore

SIZE = (512, 512, 64)  # x, y, z
GOAL = 0.8


def settle(folder: Path | None = None) -> None:
    """Remove a finished round's files and flush dirty pages: rounds must not pay for each other."""
    if folder is not None:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    os.sync()


def raw_round(folder: Path, data: np.ndarray, transposed: bool) -> float:
    """``data`` is Z, Y, X through ``.T`` when ``transposed``, else a C-ordered X, Y, Z array."""
    spec = {"driver": "neuroglancer_precomputed", "kvstore": {"driver": "file", "path": f"{folder}/raw/"},
            "create": True, "multiscale_metadata": {"data_type": "uint8", "num_channels": 1, "type": "image"},
            "scale_metadata": {"resolution": [1, 1, 1], "encoding": "raw", "chunk_size": [64, 64, 16],
                               "size": list(SIZE), "voxel_offset": [0, 0, 0]}}
    store = ts.open(spec).result()
    settle()
    start = time.perf_counter()
    view = store[:, :, :, 0].T if transposed else store[:, :, :, 0]
    view.write(data).result()
    back = view.read().result()
    seconds = time.perf_counter() - start
    assert (back == data).all()
    return seconds


def saber_round(folder: Path, zyx: np.ndarray) -> float:
    store = PrecomputedStore(folder / "saber")
    ref = ChannelRef("bench", "p5", "raw")
    store.create_channel(ref, size_xyz=SIZE, dtype="uint8")
    box = Box(x=(0, SIZE[0]), y=(0, SIZE[1]), z=(0, SIZE[2]))
    settle()
    start = time.perf_counter()
    store.write(ref, 0, box, zyx)
    back = store.read(ref, 0, box)
    seconds = time.perf_counter() - start
    assert (back == zyx).all()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    zyx = rng.integers(0, 256, size=SIZE[::-1], dtype=np.uint8)
    xyz = np.ascontiguousarray(zyx.transpose(2, 1, 0))
    raw, naive, saber = [], [], []
    with tempfile.TemporaryDirectory(prefix="saber-bench-p5-") as tmp:
        for i in range(args.repeat):
            for kind, runs, fn in (("r", raw, lambda f: raw_round(f, zyx, transposed=True)),
                                   ("s", saber, lambda f: saber_round(f, zyx)),
                                   ("n", naive, lambda f: raw_round(f, xyz, transposed=False))):
                runs.append(fn(Path(tmp) / f"{kind}{i}"))
                settle(Path(tmp) / f"{kind}{i}")
    mb = zyx.nbytes / 2**20
    r, s, n = statistics.median(raw), statistics.median(saber), statistics.median(naive)
    ratio = statistics.median(a / b for a, b in zip(raw, saber))
    print(f"P5: push + pull of {SIZE[0]}x{SIZE[1]}x{SIZE[2]} uint8 ({mb:.0f} MiB), median of {args.repeat}\n")
    print("| path | seconds (median) | MiB/s (push + pull) | throughput / raw |")
    print("|---|---|---|---|")
    print(f"| tensorstore, Z, Y, X through .T (baseline) | {r:.3f} | {2 * mb / r:.0f} | 1.00 |")
    print(f"| saber.volumes PrecomputedStore | {s:.3f} | {2 * mb / s:.0f} | {ratio:.2f} |")
    print(f"| tensorstore, C-ordered X, Y, Z array (naive) | {n:.3f} | {2 * mb / n:.0f} | "
          f"{statistics.median(a / b for a, b in zip(raw, naive)):.2f} |")
    print(f"\nRESULT p5_volumes: saber / raw throughput {ratio:.2f} (goal >= {GOAL}: "
          f"{'holds' if ratio >= GOAL else 'fails'})")
    server_table(zyx, args.repeat)


def round_trip(volumes, ref: ChannelRef, zyx: np.ndarray) -> float:
    box = Box(x=(0, SIZE[0]), y=(0, SIZE[1]), z=(0, SIZE[2]))
    settle()
    start = time.perf_counter()
    volumes.write(ref, 0, box, zyx)
    back = volumes.read(ref, 0, box)
    seconds = time.perf_counter() - start
    assert (back == zyx).all()
    return seconds


def server_table(zyx: np.ndarray, repeat: int) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="saber-bench-p5s-") as root:
        env = {k: v for k, v in os.environ.items() if k not in ("BOSSDB_TOKEN", "BOSSDB_HOST")}
        server = subprocess.Popen([sys.executable, "-m", "saber", "bossdb", "serve", "--root", root,
                                   "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"{url}/v1/collection/", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            boss = BossVolumes(url, "")
            direct = PrecomputedStore(root)
            through, local = [], []
            for i in range(repeat):
                ref = ChannelRef("bench", f"run{i}", "raw")
                boss.create_channel(ref, size_xyz=SIZE, dtype="uint8")
                through.append(round_trip(boss, ref, zyx))
                local.append(round_trip(direct, ref, zyx))
        finally:
            server.terminate()
            server.wait(timeout=30)
    mb = zyx.nbytes / 2**20
    d, t = statistics.median(local), statistics.median(through)
    ratio = statistics.median(a / b for a, b in zip(local, through))
    print(f"\nP5, through the dev server: push + pull of the same volume, median of {repeat}\n")
    print("| path | seconds (median) | MiB/s (push + pull) | throughput / direct |")
    print("|---|---|---|---|")
    print(f"| PrecomputedStore on the server's folder (baseline) | {d:.3f} | {2 * mb / d:.0f} | 1.00 |")
    print(f"| BossVolumes -> saber bossdb serve (intern, blosc, HTTP) | {t:.3f} | {2 * mb / t:.0f} | {ratio:.2f} |")
    print(f"\nRESULT p5_volumes server: through the dev server / direct throughput {ratio:.2f}")


if __name__ == "__main__":
    main()
