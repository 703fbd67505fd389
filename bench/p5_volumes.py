"""P5 (first part): pull + push of a 512 x 512 x 64 uint8 volume through saber's volume layer
(saber.volumes.PrecomputedStore, Z, Y, X arrays, every call checked against the channel's
frame and dtype) against the raw library on the same store: tensorstore's
neuroglancer_precomputed driver used the fastest way we know (the same Z, Y, X data through a
transposed view, `.T`, which matches the chunks' x-fastest layout), no checks. Goal: saber /
raw throughput >= 0.8. An extra row: tensorstore given a C-ordered X, Y, Z array (the naive
use), which pays a transpose inside every write and read.

    /opt/saber-venv/bin/python bench/p5_volumes.py [--repeat 7]

Both write then read the whole volume (chunks 64 x 64 x 16, raw encoding) in a fresh folder of
the same file system, in the same process, alternating, `--repeat` times; medians compared.
The dev-server half of P5 (through `saber bossdb serve` and intern) comes with the server.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorstore as ts

from saber.volumes import Box, ChannelRef, PrecomputedStore

SIZE = (512, 512, 64)  # x, y, z
GOAL = 0.8


def raw_round(folder: Path, data: np.ndarray, transposed: bool) -> float:
    """``data`` is Z, Y, X through ``.T`` when ``transposed``, else a C-ordered X, Y, Z array."""
    spec = {"driver": "neuroglancer_precomputed", "kvstore": {"driver": "file", "path": f"{folder}/raw/"},
            "create": True, "multiscale_metadata": {"data_type": "uint8", "num_channels": 1, "type": "image"},
            "scale_metadata": {"resolution": [1, 1, 1], "encoding": "raw", "chunk_size": [64, 64, 16],
                               "size": list(SIZE), "voxel_offset": [0, 0, 0]}}
    store = ts.open(spec).result()
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
            raw.append(raw_round(Path(tmp) / f"r{i}", zyx, transposed=True))
            saber.append(saber_round(Path(tmp) / f"s{i}", zyx))
            naive.append(raw_round(Path(tmp) / f"n{i}", xyz, transposed=False))
    mb = zyx.nbytes / 2**20
    r, s, n = statistics.median(raw), statistics.median(saber), statistics.median(naive)
    print(f"P5: push + pull of {SIZE[0]}x{SIZE[1]}x{SIZE[2]} uint8 ({mb:.0f} MiB), median of {args.repeat}\n")
    print("| path | seconds (median) | MiB/s (push + pull) | throughput / raw |")
    print("|---|---|---|---|")
    print(f"| tensorstore, Z, Y, X through .T (baseline) | {r:.3f} | {2 * mb / r:.0f} | 1.00 |")
    print(f"| saber.volumes PrecomputedStore | {s:.3f} | {2 * mb / s:.0f} | {r / s:.2f} |")
    print(f"| tensorstore, C-ordered X, Y, Z array (naive) | {n:.3f} | {2 * mb / n:.0f} | {r / n:.2f} |")
    print(f"\nRESULT p5_volumes: saber / raw throughput {r / s:.2f} (goal >= {GOAL}: "
          f"{'holds' if r / s >= GOAL else 'fails'})")


if __name__ == "__main__":
    main()
