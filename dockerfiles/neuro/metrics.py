#!/usr/bin/env python3
"""Score detected cell centroids against the true ones: precision, recall and F1.

Each detected centroid is matched to at most one true centroid, greedily by
increasing distance, and only within ``max_distance`` voxels; matches are
true positives.  precision = TP / detected, recall = TP / true, F1 is their
harmonic mean (an empty set scores 1 only against an empty one).  Both JSON
files hold ``"centroids": [[z, y, x], ...]`` (synth_volume's cells.json,
detect_cells's detections.json, connected_components's components.json).
Writes ``report.json`` and prints ``precision: …``, ``recall: …`` and, as its
last line, ``F1: <value>``.
"""
import argparse
import json
import os

import numpy as np


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
    """Return (precision, recall, f1)."""
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


def _centroids(path):
    with open(path) as f:
        data = json.load(f)
    return data["centroids"] if "centroids" in data else data["centers"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--truth", required=True, help="JSON with the true centroids")
    parser.add_argument("--detected", required=True, help="JSON with the detected centroids")
    parser.add_argument("--max-distance", type=float, default=3.0,
                        help="largest centroid distance (voxels) that counts as a match")
    parser.add_argument("--out-dir", default=".", help="where to write report.json")
    args = parser.parse_args(argv)

    report = detection_report(_centroids(args.truth), _centroids(args.detected), args.max_distance)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(f"true: {report['true_count']}, detected: {report['detected_count']}, "
          f"matched: {report['true_positives']}")
    print(f"precision: {report['precision']:.4f}")
    print(f"recall: {report['recall']:.4f}")
    print(f"F1: {report['f1']:.4f}")


if __name__ == "__main__":
    main()
