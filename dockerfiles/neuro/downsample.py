#!/usr/bin/env python3
"""Downsample a 3-D volume by integer factors per axis (block mean, or block max for labels).

The volume (z, y, x) is cut into blocks of ``factors`` voxels; a trailing
partial block along an axis is dropped, so the output shape is
``shape // factors``.  ``--mode mean`` averages each block (float32 output:
images, probabilities); ``--mode max`` keeps each block's largest value and
the input dtype (labels and masks, where an average would invent labels).
Writes ``downsampled.npy`` and prints the shapes.
"""
import argparse
import os

import numpy as np


def downsample(volume, factors, mode="mean"):
    """Return ``volume`` reduced by the integer ``factors`` (one per axis) with ``mode``."""
    volume = np.asarray(volume)
    factors = tuple(int(f) for f in factors)
    if len(factors) != volume.ndim or min(factors) < 1:
        raise ValueError(f"need {volume.ndim} factors >= 1, got {factors}")
    if mode not in ("mean", "max"):
        raise ValueError(f"unknown mode {mode!r}: expected 'mean' or 'max'")
    out_shape = tuple(s // f for s, f in zip(volume.shape, factors))
    if min(out_shape) == 0:
        raise ValueError(f"factors {factors} exceed the shape {volume.shape}")
    cropped = volume[tuple(slice(0, o * f) for o, f in zip(out_shape, factors))]
    blocks = cropped.reshape([n for o, f in zip(out_shape, factors) for n in (o, f)])
    axes = tuple(range(1, 2 * volume.ndim, 2))
    if mode == "max":
        return blocks.max(axis=axes)
    return blocks.mean(axis=axes, dtype=np.float64).astype(np.float32)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volume", required=True, help="input volume (.npy, z, y, x)")
    parser.add_argument("--factors", type=int, nargs=3, required=True, metavar=("Z", "Y", "X"),
                        help="integer downsampling factor per axis")
    parser.add_argument("--mode", choices=["mean", "max"], default="mean",
                        help="block mean (images) or block max (labels, masks)")
    parser.add_argument("--out-dir", default=".", help="where to write downsampled.npy")
    args = parser.parse_args(argv)

    volume = np.load(args.volume)
    try:
        out = downsample(volume, args.factors, args.mode)
    except ValueError as e:
        parser.error(str(e))
    os.makedirs(args.out_dir, exist_ok=True)
    np.save(os.path.join(args.out_dir, "downsampled.npy"), out)
    print(f"downsampled: {volume.shape} -> {out.shape} ({args.mode}, {out.dtype})")


if __name__ == "__main__":
    main()
