#!/usr/bin/env python3
"""Label the connected components of a 3-D mask (scipy.ndimage.label).

Voxels are connected through faces (``--connectivity 6``), faces and edges
(18) or faces, edges and corners (26).  Components smaller than
``min_size`` voxels are dropped and the rest renumbered 1..N in scan order.
Any non-zero voxel of the input counts as foreground.  Writes ``labels.npy``
(uint32, 0 = background), ``components.json`` (``{"count": N, "centroids":
[[z, y, x], ...], "sizes": [...]}``) and ``count.txt``, and prints
``components: N``.
"""
import argparse
import json
import os

import numpy as np
from scipy import ndimage

CONNECTIVITY_RANK = {6: 1, 18: 2, 26: 3}  # ndimage.generate_binary_structure's rank


def connected_components(mask, min_size=1, connectivity=26):
    """Return (labels uint32, centroids (N, 3), sizes (N,)) of ``mask``'s kept components."""
    if connectivity not in CONNECTIVITY_RANK:
        raise ValueError(f"connectivity must be 6, 18 or 26, not {connectivity}")
    mask = np.asarray(mask) != 0
    structure = ndimage.generate_binary_structure(3, CONNECTIVITY_RANK[connectivity])
    labels, n = ndimage.label(mask, structure=structure)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = np.flatnonzero(sizes >= min_size)
    keep = keep[keep > 0]
    relabel = np.zeros(n + 1, dtype=np.uint32)
    relabel[keep] = np.arange(1, len(keep) + 1, dtype=np.uint32)
    labels = relabel[labels]
    centroids = ndimage.center_of_mass(mask, labels, np.arange(1, len(keep) + 1))
    return labels, np.array(centroids, dtype=float).reshape(-1, 3), sizes[keep]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mask", required=True, help="input mask (.npy; non-zero = foreground)")
    parser.add_argument("--min-size", type=int, default=1,
                        help="drop components with fewer voxels than this")
    parser.add_argument("--connectivity", type=int, choices=[6, 18, 26], default=26,
                        help="which neighbours touch")
    parser.add_argument("--out-dir", default=".", help="where to write the outputs")
    args = parser.parse_args(argv)

    labels, centroids, sizes = connected_components(np.load(args.mask), args.min_size,
                                                    args.connectivity)
    os.makedirs(args.out_dir, exist_ok=True)
    np.save(os.path.join(args.out_dir, "labels.npy"), labels)
    components = {
        "count": len(centroids),
        "centroids": [[round(float(v), 3) for v in c] for c in centroids],
        "sizes": [int(s) for s in sizes],
    }
    with open(os.path.join(args.out_dir, "components.json"), "w") as f:
        json.dump(components, f)
    with open(os.path.join(args.out_dir, "count.txt"), "w") as f:
        f.write(f"{len(centroids)}\n")
    print(f"components: {len(centroids)}")


if __name__ == "__main__":
    main()
