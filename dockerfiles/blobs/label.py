#!/usr/bin/env python3
"""Label the connected components of a 3-D mask.

Components are found with 26-connectivity (faces, edges and corners touch);
those smaller than ``min_size`` voxels are dropped and the rest renumbered
1..N.  Writes ``labels.npy`` (int32, 0 = background), ``components.json``
(``{"count": N, "centroids": [[z, y, x], ...], "sizes": [...]}``) and
``count.txt`` (N alone, small enough for CWL ``loadContents``), and prints
``components: N``.
"""
import argparse
import json
import os

import numpy as np
from scipy import ndimage


def label_mask(mask, min_size=5):
    """Return (labels, centroids, sizes) of the components of ``mask``.

    ``labels`` numbers the kept components 1..N; ``centroids`` is an (N, 3)
    array of (z, y, x) centres of mass and ``sizes`` their voxel counts.
    """
    mask = np.asarray(mask, dtype=bool)
    structure = np.ones((3,) * mask.ndim, dtype=bool)
    labels, n = ndimage.label(mask, structure=structure)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = np.flatnonzero(sizes >= min_size)
    keep = keep[keep > 0]
    relabel = np.zeros(n + 1, dtype=np.int32)
    relabel[keep] = np.arange(1, len(keep) + 1, dtype=np.int32)
    labels = relabel[labels]
    index = np.arange(1, len(keep) + 1)
    centroids = np.array(ndimage.center_of_mass(mask, labels, index), dtype=float)
    return labels, centroids.reshape(-1, mask.ndim), sizes[keep]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mask", required=True, help="input mask (.npy)")
    parser.add_argument("--min-size", type=int, default=5,
                        help="drop components with fewer voxels than this")
    parser.add_argument("--out-dir", default=".", help="where to write the outputs")
    args = parser.parse_args(argv)

    labels, centroids, sizes = label_mask(np.load(args.mask), args.min_size)
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
