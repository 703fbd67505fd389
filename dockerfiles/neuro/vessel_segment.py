#!/usr/bin/env python3
"""Segment bright vessels with Frangi vesselness and a threshold.

``skimage.filters.frangi`` (``black_ridges=False``: bright tubes on a dark
background) is computed over the scales ``sigmas`` (voxels; about the vessel
radius) on the volume rescaled to [0, 1], and the response is divided by its
maximum.  Voxels whose vesselness reaches ``threshold`` (or, with
``--threshold otsu``, exceeds Otsu's level of the non-zero responses) form the
mask.  Frangi also answers inside bright cells (their interiors look locally
tube-like at small scales), so mask components smaller than ``min_size``
voxels or shorter than ``min_length`` voxels along their major axis (compact
ones: cells, noise) are dropped; vessels are long.  Writes
``vesselness.npy`` (float32 in [0, 1]) and ``vessel_mask.npy`` (bool), and
prints ``threshold: <level>``.
"""
import argparse
import os

import numpy as np
from scipy import ndimage


def rescale(volume):
    """Return ``volume`` as float64 scaled to [0, 1] by its minimum and maximum."""
    volume = np.asarray(volume, dtype=np.float64)
    lo, hi = float(volume.min()), float(volume.max())
    return (volume - lo) / (hi - lo) if hi > lo else np.zeros_like(volume)


def vesselness(volume, sigmas=(1.0, 1.5, 2.0), alpha=0.5, beta=0.5, gamma=None):
    """Return Frangi's bright-ridge vesselness of ``volume``, float32, scaled to [0, 1]."""
    from skimage.filters import frangi  # needs scikit-image (in the image)

    v = frangi(rescale(volume), sigmas=sigmas, alpha=alpha, beta=beta, gamma=gamma,
               black_ridges=False, mode="reflect")
    peak = float(v.max())
    return (v / peak if peak > 0 else v).astype(np.float32)


def remove_small(mask, min_size):
    """Return ``mask`` without its 26-connected components smaller than ``min_size`` voxels."""
    labels, n = ndimage.label(mask, structure=np.ones((3, 3, 3), dtype=bool))
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = sizes >= min_size
    keep[0] = False
    return keep[labels]


def major_axis_length(points):
    """Return 4 * sqrt(largest variance) of (K, 3) voxel coordinates: ~1.15 * length for a rod."""
    if len(points) < 2:
        return 0.0
    return 4.0 * float(np.sqrt(max(np.linalg.eigvalsh(np.cov(np.asarray(points, float).T))[-1], 0.0)))


def keep_elongated(mask, min_length):
    """Return ``mask`` without its 26-connected components shorter than ``min_length`` voxels."""
    labels, n = ndimage.label(mask, structure=np.ones((3, 3, 3), dtype=bool))
    keep = np.zeros(n + 1, dtype=bool)
    for i, box in enumerate(ndimage.find_objects(labels), start=1):
        keep[i] = major_axis_length(np.argwhere(labels[box] == i)) >= min_length
    return keep[labels]


def vessel_mask(response, threshold=0.02, min_size=20, min_length=12.0):
    """Return (mask, level) of ``response`` thresholded at a number or at 'otsu', cleaned."""
    if threshold == "otsu":
        from skimage.filters import threshold_otsu

        positive = response[response > 0]
        level = float(threshold_otsu(positive)) if positive.size else 0.0
        mask = response > level
    else:
        level = float(threshold)
        mask = response >= level
    return keep_elongated(remove_small(mask, min_size), min_length), level


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volume", required=True, help="input volume (.npy, z, y, x)")
    parser.add_argument("--sigmas", type=float, nargs="+", default=[1.0, 1.5, 2.0],
                        help="Frangi scales, voxels (about the vessel radii)")
    parser.add_argument("--threshold", default="0.02",
                        help="vesselness level in [0, 1], or 'otsu'")
    parser.add_argument("--min-size", type=int, default=20,
                        help="drop mask components with fewer voxels than this")
    parser.add_argument("--min-length", type=float, default=12.0,
                        help="drop mask components shorter than this along their major axis")
    parser.add_argument("--out-dir", default=".", help="where to write the outputs")
    args = parser.parse_args(argv)

    threshold = args.threshold if args.threshold == "otsu" else float(args.threshold)
    response = vesselness(np.load(args.volume), tuple(args.sigmas))
    mask, level = vessel_mask(response, threshold, args.min_size, args.min_length)
    os.makedirs(args.out_dir, exist_ok=True)
    np.save(os.path.join(args.out_dir, "vesselness.npy"), response)
    np.save(os.path.join(args.out_dir, "vessel_mask.npy"), mask)
    print(f"threshold: {level:.6g}")
    print(f"vessel voxels: {int(mask.sum())} of {mask.size}")


if __name__ == "__main__":
    main()
