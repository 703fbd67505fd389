#!/usr/bin/env python3
"""Score detected cell centroids against the true ones: precision, recall and F1.

Each detected centroid is matched to at most one true centroid, greedily by
increasing distance, and only within ``max_distance`` voxels; matches are
true positives.  precision = TP / detected, recall = TP / true, F1 is their
harmonic mean.  An empty set scores 1 only against an empty one: with no true
and no detected cells (in the core, when one is given) precision, recall and
F1 are all 1 (nothing to find, nothing found).

The truth and the detections are each either a JSON file with
``"centroids": [[z, y, x], ...]`` (synth_volume's cells.json, detect_cells's
detections.json, connected_components's components.json) or a label volume
``.npy`` (0 background, one integer label per cell, any integer dtype, uint64
included), whose centroids are the labels' centres of mass.  Centroids are in
the array's index order.

``--box`` names the ``cutout.json`` that boss_pull writes beside a block padded
with its neighbours' voxels: ``{"axes": "zyx", "core_in_array": {"x": [a, b],
"y": [c, d], "z": [e, f]}, ...}``.  Then the matching still uses the whole
block, but precision counts only the detections inside the core and recall only
the true cells inside it (half-open per axis; component i of a centroid is on
axis ``axes[i]``), so each cell of a tiled volume is scored in exactly one
block, and a cell on a core's face found just across it is a match for both.

Writes ``report.json`` and prints ``precision: …``, ``recall: …`` and, as its
last line, ``F1: <value>``.
"""
import argparse
import json
import os

import numpy as np
from scipy import ndimage

_NPY_MAGIC = b"\x93NUMPY"


def match(true_centroids, detected, max_distance=3.0):
    """Return the (true index, detected index) pairs of the greedy one-to-one matching."""
    t = np.asarray(true_centroids, dtype=float).reshape(-1, 3)
    d = np.asarray(detected, dtype=float).reshape(-1, 3)
    if len(t) == 0 or len(d) == 0:
        return []
    dist = np.linalg.norm(t[:, None, :] - d[None, :, :], axis=-1)
    used_t, used_d, pairs = set(), set(), []
    for flat in np.argsort(dist, axis=None, kind="stable"):
        i, j = (int(k) for k in np.unravel_index(flat, dist.shape))
        if dist[i, j] > max_distance:
            break
        if i not in used_t and j not in used_d:
            used_t.add(i)
            used_d.add(j)
            pairs.append((i, j))
    return pairs


def scores(n_true, n_detected, tp):
    """Return (precision, recall, f1); (1, 1, 1) when there is nothing to find and nothing found."""
    precision = tp / n_detected if n_detected else float(n_true == 0)
    recall = tp / n_true if n_true else float(n_detected == 0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def detection_report(true_centroids, detected, max_distance=3.0):
    """Return the report dict: counts, precision, recall, f1 and the mean matched distance."""
    pairs = match(true_centroids, detected, max_distance)
    p, r, f1 = scores(len(true_centroids), len(detected), len(pairs))
    t, d = np.asarray(true_centroids, float), np.asarray(detected, float)
    errors = [float(np.linalg.norm(t[i] - d[j])) for i, j in pairs]
    return {"true_count": len(true_centroids), "detected_count": len(detected),
            "true_positives": len(pairs), "precision": round(p, 6), "recall": round(r, 6),
            "f1": round(f1, 6), "max_distance": max_distance,
            "mean_distance": round(float(np.mean(errors)), 4) if errors else None}


def label_centroids(labels):
    """Return the centre of mass of every non-zero label of a 3-D label volume, by label value."""
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"a label volume needs an integer dtype, got {labels.dtype}")
    if labels.ndim != 3:
        raise ValueError(f"a label volume must be 3-D, got shape {labels.shape}")
    ids = np.unique(labels)
    ids = ids[ids != 0]
    if len(ids) == 0:
        return []
    return [[float(c) for c in centre] for centre in ndimage.center_of_mass(labels != 0, labels, ids)]


def core_bounds(box):
    """Return (axes, low, high) of a cutout.json's core: low/high in centroid-component order."""
    axes, core = box.get("axes"), box.get("core_in_array")
    if not isinstance(axes, str) or sorted(axes) != ["x", "y", "z"]:
        raise ValueError(f"box 'axes' must be 'zyx' or 'xyz', got {axes!r}")
    bounds = []
    for letter in axes:
        pair = core.get(letter) if isinstance(core, dict) else None
        if (not isinstance(pair, list) or len(pair) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair) or pair[0] > pair[1]):
            raise ValueError(f"box core_in_array[{letter!r}] must be [low, high] integers, low <= high, "
                             f"got {pair!r}")
        bounds.append(pair)
    low, high = np.array(bounds, dtype=float).T
    return axes, low, high


def core_report(true_centroids, detected, box, max_distance=3.0):
    """Return the report of the centroids of ``box``'s core, with a "core" entry.

    The matching is over the whole (padded) block, and each side is counted where it lies:
    precision over the detections inside the core, recall over the true cells inside it. So a
    cell on the core's face whose detection lands just across it is a match for both blocks,
    not a miss in one and a false detection in the other. With no detection in the core,
    precision is 1 (none is false); with no true cell in it, recall is 1 (none is missed); so
    nothing in the core at all scores 1, and a core whose cells were all missed scores 0.
    """
    axes, low, high = core_bounds(box)
    t = np.asarray(true_centroids, dtype=float).reshape(-1, 3)
    d = np.asarray(detected, dtype=float).reshape(-1, 3)
    t_in = np.all((t >= low) & (t < high), axis=1)
    d_in = np.all((d >= low) & (d < high), axis=1)
    pairs = match(t, d, max_distance)
    n_true, n_detected = int(t_in.sum()), int(d_in.sum())
    tp_true = sum(1 for i, _ in pairs if t_in[i])  # true cells of the core that were found
    tp_detected = sum(1 for _, j in pairs if d_in[j])  # detections in the core that are right
    precision = tp_detected / n_detected if n_detected else 1.0  # no detection here: none is false
    recall = tp_true / n_true if n_true else 1.0  # no cell here: none is missed
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    errors = [float(np.linalg.norm(t[i] - d[j])) for i, j in pairs if t_in[i]]
    return {"true_count": n_true, "detected_count": n_detected, "true_positives": tp_true,
            "matched_detections": tp_detected, "precision": round(precision, 6), "recall": round(recall, 6),
            "f1": round(f1, 6), "max_distance": max_distance,
            "mean_distance": round(float(np.mean(errors)), 4) if errors else None,
            "core": {"axes": axes, **{a: [int(lo), int(hi)] for a, lo, hi in zip(axes, low, high)},
                     "true_outside": len(t) - n_true, "detected_outside": len(d) - n_detected}}


def read_centroids(path):
    """Centroids from a JSON file ("centroids", or "centers") or a label volume .npy."""
    with open(path, "rb") as f:
        is_npy = f.read(len(_NPY_MAGIC)) == _NPY_MAGIC
    if is_npy:
        return label_centroids(np.load(path))
    with open(path) as f:
        data = json.load(f)
    for key in ("centroids", "centers"):
        if isinstance(data, dict) and key in data:
            return data[key]
    raise ValueError(f"{path}: expected a JSON object with \"centroids\" or a label volume .npy")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--truth", required=True,
                        help="JSON with the true centroids, or a label volume .npy")
    parser.add_argument("--detected", required=True,
                        help="JSON with the detected centroids, or a label volume .npy")
    parser.add_argument("--max-distance", type=float, default=3.0,
                        help="largest centroid distance (voxels) that counts as a match")
    parser.add_argument("--box", help="boss_pull's cutout.json: score only the block's core")
    parser.add_argument("--out-dir", default=".", help="where to write report.json")
    args = parser.parse_args(argv)

    try:
        truth, detected = read_centroids(args.truth), read_centroids(args.detected)
        if args.box:
            with open(args.box) as f:
                report = core_report(truth, detected, json.load(f), args.max_distance)
        else:
            report = detection_report(truth, detected, args.max_distance)
    except ValueError as e:
        parser.error(str(e))
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    if "core" in report:
        core = report["core"]
        print("core: " + ", ".join(f"{a} [{core[a][0]}, {core[a][1]})" for a in core["axes"])
              + f" (outside it: {core['true_outside']} true, {core['detected_outside']} detected)")
    print(f"true: {report['true_count']}, detected: {report['detected_count']}, "
          f"matched: {report['true_positives']}")
    print(f"precision: {report['precision']:.4f}")
    print(f"recall: {report['recall']:.4f}")
    print(f"F1: {report['f1']:.4f}")


if __name__ == "__main__":
    main()
