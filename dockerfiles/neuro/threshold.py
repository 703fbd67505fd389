#!/usr/bin/env python3
"""Threshold a volume into a boolean mask, at a fixed level or at Otsu's.

With ``--method fixed`` voxels at or above ``--threshold`` are foreground.
With ``--method otsu`` the level is Otsu's (``skimage.filters.threshold_otsu``:
the histogram split that maximises the between-class variance), and voxels
strictly above it are foreground, as skimage's documentation uses it.
Writes ``mask.npy`` (bool) and ``threshold.txt`` (the level alone) and prints
``threshold: <level>``.
"""
import argparse
import os

import numpy as np


def otsu_level(volume, nbins=256):
    """Return Otsu's threshold of ``volume`` (needs scikit-image)."""
    from skimage.filters import threshold_otsu  # only this method needs skimage

    return float(threshold_otsu(np.asarray(volume), nbins=nbins))


def threshold_volume(volume, method="fixed", threshold=None):
    """Return (mask, level) for ``method`` 'fixed' (needs ``threshold``) or 'otsu'."""
    volume = np.asarray(volume)
    if method == "fixed":
        if threshold is None:
            raise ValueError("method 'fixed' needs a threshold")
        return volume >= threshold, float(threshold)
    if method == "otsu":
        level = otsu_level(volume)
        return volume > level, level
    raise ValueError(f"unknown method {method!r}: expected 'fixed' or 'otsu'")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volume", required=True, help="input volume (.npy)")
    parser.add_argument("--method", choices=["fixed", "otsu"], default="otsu",
                        help="how the level is chosen")
    parser.add_argument("--threshold", type=float, help="the level, for --method fixed")
    parser.add_argument("--out-dir", default=".", help="where to write the outputs")
    args = parser.parse_args(argv)

    try:
        mask, level = threshold_volume(np.load(args.volume), args.method, args.threshold)
    except ValueError as e:
        parser.error(str(e))
    os.makedirs(args.out_dir, exist_ok=True)
    np.save(os.path.join(args.out_dir, "mask.npy"), mask)
    with open(os.path.join(args.out_dir, "threshold.txt"), "w") as f:
        f.write(f"{level:.6g}\n")
    print(f"threshold: {level:.6g}")
    print(f"foreground voxels: {int(mask.sum())} of {mask.size}")


if __name__ == "__main__":
    main()
