#!/usr/bin/env python3
"""Threshold a 3-D volume into a foreground mask.

The volume is first smoothed with a Gaussian of standard deviation ``sigma``
voxels (no smoothing when ``sigma`` is 0), then voxels with a value at or
above ``threshold`` become foreground.  Writes ``mask.npy`` (bool).
"""
import argparse
import os

import numpy as np
from scipy import ndimage


def threshold_volume(volume, threshold, sigma=1.0):
    """Return the boolean mask ``smooth(volume, sigma) >= threshold``."""
    volume = np.asarray(volume, dtype=np.float32)
    if sigma < 0:
        raise ValueError("sigma must be >= 0")
    if sigma > 0:
        volume = ndimage.gaussian_filter(volume, sigma=sigma, mode="nearest")
    return volume >= threshold


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volume", required=True, help="input volume (.npy)")
    parser.add_argument("--threshold", type=float, required=True, help="intensity threshold")
    parser.add_argument("--sigma", type=float, default=1.0,
                        help="Gaussian smoothing (voxels) before thresholding; 0 for none")
    parser.add_argument("--out-dir", default=".", help="where to write mask.npy")
    args = parser.parse_args(argv)

    mask = threshold_volume(np.load(args.volume), args.threshold, args.sigma)
    os.makedirs(args.out_dir, exist_ok=True)
    np.save(os.path.join(args.out_dir, "mask.npy"), mask)
    print(f"threshold: {args.threshold}, foreground voxels: {int(mask.sum())}")


if __name__ == "__main__":
    main()
