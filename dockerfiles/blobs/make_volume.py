#!/usr/bin/env python3
"""Make a synthetic 3-D volume of bright Gaussian blobs in noise.

The volume is a cube of side ``size``.  ``n_blobs`` centres are drawn at
random (from ``seed``) at least ``2 * radius`` voxels from the faces and at
least ``4 * radius`` voxels from each other, so that every blob is a separate
object.  Each blob is an isotropic Gaussian whose intensity falls to half its
peak at ``radius`` voxels from the centre; peaks are drawn uniformly from
[0.5, 1.0], so dim blobs are lost at high thresholds.  Gaussian noise of
standard deviation ``noise`` is added and the result is clipped to [0, 1].

Writes ``volume.npy`` (float32, axes z, y, x) and ``truth.json``:
``{"n_blobs": N, "centers": [[z, y, x], ...], "amplitudes": [...], ...}``.
"""
import argparse
import json
import math
import os

import numpy as np

MIN_AMPLITUDE = 0.5


def place_centers(rng, size, n_blobs, radius, max_tries=10000):
    """Return an (n_blobs, 3) array of well separated random centres."""
    margin = 2.0 * radius
    min_sep = 4.0 * radius
    if size - 2 * margin <= 0:
        raise ValueError(f"size {size} is too small for blobs of radius {radius}")
    centers = []
    for _ in range(n_blobs):
        for _ in range(max_tries):
            c = rng.uniform(margin, size - 1 - margin, 3)
            if all(np.linalg.norm(c - other) >= min_sep for other in centers):
                centers.append(c)
                break
        else:
            raise ValueError(
                f"cannot place {n_blobs} blobs {min_sep:g} voxels apart in a {size}^3 volume"
            )
    return np.array(centers, dtype=float).reshape(-1, 3)


def make_volume(size=48, n_blobs=12, noise=0.1, seed=0, radius=3.0):
    """Return (volume, centers, amplitudes) for the given parameters."""
    if size < 1 or n_blobs < 0 or noise < 0 or radius <= 0:
        raise ValueError("size >= 1, n_blobs >= 0, noise >= 0 and radius > 0 are required")
    rng = np.random.default_rng(seed)
    centers = place_centers(rng, size, n_blobs, radius)
    amplitudes = rng.uniform(MIN_AMPLITUDE, 1.0, len(centers))
    # Half maximum at `radius`: exp(-r^2 / (2 s^2)) = 1/2  =>  s = radius / sqrt(2 ln 2).
    two_s2 = 2.0 * (radius / math.sqrt(2.0 * math.log(2.0))) ** 2
    z, y, x = np.ogrid[:size, :size, :size]
    volume = np.zeros((size, size, size), dtype=np.float64)
    for (cz, cy, cx), amp in zip(centers, amplitudes):
        d2 = (z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2
        volume += amp * np.exp(-d2 / two_s2)
    if noise > 0:
        volume += rng.normal(0.0, noise, volume.shape)
    np.clip(volume, 0.0, 1.0, out=volume)
    return volume.astype(np.float32), centers, amplitudes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=48, help="side of the cube in voxels")
    parser.add_argument("--n-blobs", type=int, default=12, help="number of blobs")
    parser.add_argument("--noise", type=float, default=0.1, help="std of the Gaussian noise")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--radius", type=float, default=3.0,
                        help="blob radius in voxels (half-maximum distance)")
    parser.add_argument("--out-dir", default=".", help="where to write the outputs")
    args = parser.parse_args(argv)

    volume, centers, amplitudes = make_volume(args.size, args.n_blobs, args.noise,
                                              args.seed, args.radius)
    os.makedirs(args.out_dir, exist_ok=True)
    np.save(os.path.join(args.out_dir, "volume.npy"), volume)
    truth = {
        "n_blobs": len(centers),
        "centers": [[round(float(v), 3) for v in c] for c in centers],
        "amplitudes": [round(float(a), 3) for a in amplitudes],
        "size": args.size, "radius": args.radius, "noise": args.noise, "seed": args.seed,
    }
    with open(os.path.join(args.out_dir, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
    print(f"volume: {args.size}^3, blobs: {len(centers)}, noise: {args.noise}")


if __name__ == "__main__":
    main()
