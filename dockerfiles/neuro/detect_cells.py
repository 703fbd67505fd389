#!/usr/bin/env python3
"""Detect cells in a 3-D volume: blob-shaped local maxima, then a seeded label volume.

The input (a probability map, or a raw volume: it is rescaled to [0, 1] by
its 0.5th and 99.9th percentiles) is smoothed with a Gaussian of ``sigma``
voxels.  Candidates are local maxima within ``min_distance`` voxels that
reach ``threshold``.  Tubes (vessels) have maxima too, so each candidate's
Hessian at that scale must be blob-like: all three eigenvalues negative and
the weakest curvature at least ``min_blobness`` times the strongest (about 1
for a sphere, 0 along a tube).  Every smoothed voxel at or above
``threshold / 2`` is then given to its nearest detection, within
``max_radius`` voxels.

Writes ``detections.json`` (``{"count": N, "centroids": [[z, y, x], ...],
"scores": [...]}``; scores are the smoothed values), ``labels.npy`` (uint32,
cells 1..N) and ``count.txt``, and prints ``cells: N``.
"""
import argparse
import json
import os

import numpy as np
from scipy import ndimage


def normalise(volume):
    """Return ``volume`` as float64 rescaled to [0, 1] by its 0.5th and 99.9th percentiles."""
    volume = np.asarray(volume, dtype=np.float64)
    lo, hi = np.percentile(volume, [0.5, 99.9])
    if hi <= lo:
        return np.zeros_like(volume)
    return np.clip((volume - lo) / (hi - lo), 0.0, 1.0)


def local_maxima(smoothed, min_distance, threshold):
    """Return (K, 3) integer peaks: maxima over a (2*min_distance+1)^3 cube, >= threshold."""
    size = 2 * int(min_distance) + 1
    peaks = (smoothed == ndimage.maximum_filter(smoothed, size=size, mode="nearest"))
    peaks &= smoothed >= threshold
    # A flat top gives several equal maxima: keep one voxel (the first) per plateau.
    plateaus, n = ndimage.label(peaks, structure=np.ones((3, 3, 3)))
    if n == 0:
        return np.zeros((0, 3), dtype=int)
    firsts = ndimage.minimum_position(np.arange(plateaus.size).reshape(plateaus.shape),
                                      plateaus, np.arange(1, n + 1))
    return np.array(firsts, dtype=int).reshape(-1, 3)


def hessian_eigenvalues(smoothed, points):
    """Return (K, 3) Hessian eigenvalues (ascending) of ``smoothed`` at integer ``points``."""
    grads = np.gradient(smoothed)
    hess = np.empty((len(points), 3, 3))
    for i, g in enumerate(grads):
        for j, gg in enumerate(np.gradient(g)):
            hess[:, i, j] = gg[tuple(np.asarray(points).T)] if len(points) else 0.0
    return np.linalg.eigvalsh(hess) if len(points) else np.zeros((0, 3))


def blobness(eigenvalues):
    """Return |weakest| / |strongest| curvature where all are negative (bright blob), else 0."""
    ev = np.asarray(eigenvalues, dtype=float).reshape(-1, 3)
    strongest, weakest = ev[:, 0], ev[:, 2]  # ascending: most negative first
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where((weakest < 0) & (strongest < 0), weakest / strongest, 0.0)
    return np.nan_to_num(ratio)


def detect_cells(volume, sigma=1.5, threshold=0.3, min_distance=3, min_blobness=0.2):
    """Return (centroids (N, 3) float, scores (N,), smoothed volume) of the detected cells."""
    if sigma <= 0 or min_distance < 1:
        raise ValueError("sigma > 0 and min_distance >= 1 are required")
    smoothed = ndimage.gaussian_filter(normalise(volume), sigma, mode="nearest")
    peaks = local_maxima(smoothed, min_distance, threshold)
    keep = blobness(hessian_eigenvalues(smoothed, peaks)) >= min_blobness
    peaks = peaks[keep]
    return peaks.astype(float), smoothed[tuple(peaks.T)], smoothed


def seeded_labels(smoothed, centroids, level, max_radius):
    """Return uint32 labels: each voxel >= ``level`` goes to its nearest centroid within ``max_radius``."""
    labels = np.zeros(smoothed.shape, dtype=np.uint32)
    if len(centroids) == 0:
        return labels
    seeds = np.zeros(smoothed.shape, dtype=np.uint32)
    idx = np.rint(centroids).astype(int)
    seeds[tuple(idx.T)] = np.arange(1, len(idx) + 1, dtype=np.uint32)
    dist, nearest = ndimage.distance_transform_edt(seeds == 0, return_indices=True)
    owner = seeds[tuple(nearest)]
    inside = (smoothed >= level) & (dist <= max_radius)
    labels[inside] = owner[inside]
    return labels


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volume", required=True, help="probability map or raw volume (.npy)")
    parser.add_argument("--sigma", type=float, default=1.5, help="smoothing Gaussian, voxels")
    parser.add_argument("--threshold", type=float, default=0.3,
                        help="smallest smoothed value (of the [0, 1] volume) a cell may peak at")
    parser.add_argument("--min-distance", type=int, default=3,
                        help="cells peak at least this far apart (voxels, per axis)")
    parser.add_argument("--min-blobness", type=float, default=0.2,
                        help="weakest / strongest Hessian curvature a peak needs (0 keeps tubes)")
    parser.add_argument("--max-radius", type=float, default=6.0,
                        help="label voxels at most this far from their cell's centre")
    parser.add_argument("--out-dir", default=".", help="where to write the outputs")
    args = parser.parse_args(argv)

    centroids, scores, smoothed = detect_cells(np.load(args.volume), args.sigma, args.threshold,
                                               args.min_distance, args.min_blobness)
    labels = seeded_labels(smoothed, centroids, args.threshold / 2, args.max_radius)
    os.makedirs(args.out_dir, exist_ok=True)
    np.save(os.path.join(args.out_dir, "labels.npy"), labels)
    detections = {
        "count": len(centroids),
        "centroids": [[float(v) for v in c] for c in centroids],
        "scores": [round(float(s), 4) for s in scores],
    }
    with open(os.path.join(args.out_dir, "detections.json"), "w") as f:
        json.dump(detections, f)
    with open(os.path.join(args.out_dir, "count.txt"), "w") as f:
        f.write(f"{len(centroids)}\n")
    print(f"cells: {len(centroids)}")


if __name__ == "__main__":
    main()
