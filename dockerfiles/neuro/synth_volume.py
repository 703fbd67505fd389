#!/usr/bin/env python3
"""Make a synthetic neuro volume: cells (bright ellipsoids) and vessels (bright tubes) in noise.

Vessels are drawn first: each is a tube of radius ``vessel_radius`` around a
cubic Bezier curve running between two opposite faces of the volume through
two random interior control points, so paths are smooth and random.  Cells
are randomly oriented ellipsoids whose semi-axes are ``cell_radius`` times a
factor in [0.8, 1.2]; their centres keep clear of the faces, of the vessels
and of each other, so that every cell is a separate object.  Cells and
vessels are blurred slightly (partial-volume effect) over a constant
background, Gaussian noise is added and the result is clipped to uint8.

Writes, all with axes (z, y, x):
``raw.npy`` (uint8), ``cell_labels.npy`` (uint16, 0 = background, cells
1..N), ``vessel_mask.npy`` (bool) and ``cells.json``:
``{"count": N, "centroids": [[z, y, x], ...], "semi_axes": [...], "shape": [...], ...}``.
"""
import argparse
import json
import os

import numpy as np
from scipy import ndimage

AXIS_JITTER = (0.8, 1.2)  # range of each semi-axis, as a factor of cell_radius
BLUR_SIGMA = 0.7          # partial-volume blur of the rendered objects, voxels


def bezier_path(rng, shape, step=0.5):
    """Return (M, 3) points, at most ``step`` voxels apart, of a random curve between opposite faces."""
    shape = np.asarray(shape, dtype=float)
    axis = rng.integers(3)
    start, end = rng.uniform(0, shape - 1), rng.uniform(0, shape - 1)
    start[axis], end[axis] = 0.0, shape[axis] - 1
    control = rng.uniform(0.2 * (shape - 1), 0.8 * (shape - 1), size=(2, 3))
    nodes = np.vstack([start, control, end])
    # A cubic Bezier moves at most 3 * (longest control leg) per unit t: that many steps keep
    # consecutive points within `step` of each other.
    speed = 3.0 * np.max(np.linalg.norm(np.diff(nodes, axis=0), axis=1))
    t = np.linspace(0.0, 1.0, max(int(np.ceil(speed / step)) + 1, 2))[:, None]
    weights = [(1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t ** 2 * (1 - t), t ** 3]
    return sum(w * p for w, p in zip(weights, nodes))


def tube_mask(shape, paths, radius):
    """Return the boolean mask of voxels within ``radius`` of any path point."""
    seeds = np.zeros(shape, dtype=bool)
    for path in paths:
        idx = np.clip(np.rint(path).astype(int), 0, np.asarray(shape) - 1)
        seeds[tuple(idx.T)] = True
    if not seeds.any():
        return seeds
    return ndimage.distance_transform_edt(~seeds) <= radius


def random_rotation(rng):
    """Return a uniformly random 3x3 rotation matrix."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def place_cells(rng, shape, n_cells, radius, clearance, max_tries=20000):
    """Return (N, 3) centres at least 2.4*radius+2 apart, inside the faces, where ``clearance`` allows.

    ``clearance`` is the distance (voxels) from each voxel to the nearest vessel.
    """
    r_max = radius * AXIS_JITTER[1]
    lo, hi = r_max + 1.0, np.asarray(shape, dtype=float) - 2.0 - r_max
    if np.any(hi <= lo):
        raise ValueError(f"shape {tuple(shape)} is too small for cells of radius {radius}")
    centres = []
    for _ in range(max_tries):
        if len(centres) == n_cells:
            break
        c = rng.uniform(lo, hi)
        if clearance[tuple(np.rint(c).astype(int))] < r_max + 1.5:
            continue
        if all(np.linalg.norm(c - other) >= 2 * r_max + 2.0 for other in centres):
            centres.append(c)
    if len(centres) < n_cells:
        raise ValueError(f"cannot place {n_cells} cells of radius {radius} in a volume of shape "
                         f"{tuple(shape)} (placed {len(centres)})")
    return np.array(centres, dtype=float).reshape(-1, 3)


def paint_cells(shape, centres, semi_axes, rotations):
    """Return the uint16 label volume of the ellipsoids (cell i is label i + 1)."""
    labels = np.zeros(shape, dtype=np.uint16)
    for i, (c, axes, rot) in enumerate(zip(centres, semi_axes, rotations), start=1):
        r = int(np.ceil(axes.max())) + 1
        lo = np.maximum(np.floor(c).astype(int) - r, 0)
        hi = np.minimum(np.floor(c).astype(int) + r + 2, shape)
        grid = np.stack(np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi)], indexing="ij"), -1)
        local = (grid - c) @ rot  # coordinates along the ellipsoid's own axes
        inside = np.sum((local / axes) ** 2, axis=-1) <= 1.0
        box = labels[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        box[inside] = i
    return labels


def synth_volume(shape=(32, 32, 32), n_cells=8, cell_radius=3.0, n_vessels=2, vessel_radius=1.5,
                 noise=10.0, seed=0, background=30.0, cell_intensity=200.0, vessel_intensity=150.0):
    """Return (raw uint8, cell labels uint16, vessel mask bool, centroids (N, 3), semi-axes (N, 3))."""
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or min(shape) < 1 or n_cells < 0 or n_vessels < 0 or noise < 0 \
            or cell_radius <= 0 or vessel_radius <= 0:
        raise ValueError("a 3-D shape, n_cells >= 0, n_vessels >= 0, noise >= 0 and "
                         "positive radii are required")
    rng = np.random.default_rng(seed)
    vessels = tube_mask(shape, [bezier_path(rng, shape) for _ in range(n_vessels)], vessel_radius)
    clearance = (ndimage.distance_transform_edt(~vessels) if vessels.any()
                 else np.full(shape, np.inf))
    centres = place_cells(rng, shape, n_cells, cell_radius, clearance)
    semi_axes = cell_radius * rng.uniform(*AXIS_JITTER, size=(len(centres), 3))
    rotations = [random_rotation(rng) for _ in centres]
    labels = paint_cells(shape, centres, semi_axes, rotations)
    # Each cell gets its own brightness (+-15 %), like nuclei with different stain uptake.
    brightness = np.concatenate([[0.0], cell_intensity * rng.uniform(0.85, 1.15, len(centres))])
    signal = np.where(vessels, vessel_intensity - background, 0.0)
    signal = np.maximum(signal, np.where(labels > 0, brightness[labels] - background, 0.0))
    volume = background + ndimage.gaussian_filter(signal, BLUR_SIGMA)
    if noise > 0:
        volume += rng.normal(0.0, noise, shape)
    raw = np.clip(np.rint(volume), 0, 255).astype(np.uint8)
    return raw, labels, vessels, centres, semi_axes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=3, default=[32, 32, 32], metavar=("Z", "Y", "X"),
                        help="volume shape in voxels")
    parser.add_argument("--n-cells", type=int, default=8, help="number of cells")
    parser.add_argument("--cell-radius", type=float, default=3.0, help="mean cell semi-axis, voxels")
    parser.add_argument("--n-vessels", type=int, default=2, help="number of vessels")
    parser.add_argument("--vessel-radius", type=float, default=1.5, help="vessel radius, voxels")
    parser.add_argument("--noise", type=float, default=10.0, help="noise std (uint8 grey levels)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--out-dir", default=".", help="where to write the outputs")
    args = parser.parse_args(argv)

    raw, labels, vessels, centres, semi_axes = synth_volume(
        args.shape, args.n_cells, args.cell_radius, args.n_vessels, args.vessel_radius,
        args.noise, args.seed)
    os.makedirs(args.out_dir, exist_ok=True)
    np.save(os.path.join(args.out_dir, "raw.npy"), raw)
    np.save(os.path.join(args.out_dir, "cell_labels.npy"), labels)
    np.save(os.path.join(args.out_dir, "vessel_mask.npy"), vessels)
    cells = {
        "count": len(centres),
        "centroids": [[round(float(v), 3) for v in c] for c in centres],
        "semi_axes": [[round(float(v), 3) for v in a] for a in semi_axes],
        "shape": list(raw.shape), "cell_radius": args.cell_radius, "n_vessels": args.n_vessels,
        "vessel_radius": args.vessel_radius, "noise": args.noise, "seed": args.seed,
    }
    with open(os.path.join(args.out_dir, "cells.json"), "w") as f:
        json.dump(cells, f, indent=1)
    print(f"volume: {'x'.join(map(str, raw.shape))}, cells: {len(centres)}, "
          f"vessel voxels: {int(vessels.sum())}, noise: {args.noise}")


if __name__ == "__main__":
    main()
