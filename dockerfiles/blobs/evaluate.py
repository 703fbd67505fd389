#!/usr/bin/env python3
"""Score detected blobs against the truth, one detection set per threshold.

Each detected centroid is matched to at most one true centre, greedily by
increasing distance, and only within ``max_distance`` voxels.  Matches are
true positives; precision = TP / detected, recall = TP / true, and F1 is
their harmonic mean.  Writes ``report.json`` (``{"thresholds", "precision",
"recall", "f1", "counts", "true_count", "best_threshold", "best_f1"}``; ties
go to the lowest threshold) and prints ``F1: <best f1>`` as its last line.
"""
import argparse
import json
import os

import numpy as np


def match(true_centers, detected, max_distance=4.0):
    """Return the number of greedy one-to-one matches within ``max_distance``."""
    t = np.asarray(true_centers, dtype=float).reshape(-1, 3)
    d = np.asarray(detected, dtype=float).reshape(-1, 3)
    if len(t) == 0 or len(d) == 0:
        return 0
    dist = np.linalg.norm(t[:, None, :] - d[None, :, :], axis=-1)
    used_t, used_d, matches = set(), set(), 0
    for flat in np.argsort(dist, axis=None, kind="stable"):
        i, j = np.unravel_index(flat, dist.shape)
        if dist[i, j] > max_distance:
            break
        if i not in used_t and j not in used_d:
            used_t.add(i)
            used_d.add(j)
            matches += 1
    return matches


def scores(n_true, n_detected, tp):
    """Return (precision, recall, f1); an empty set scores 1 only against an empty one."""
    precision = tp / n_detected if n_detected else float(n_true == 0)
    recall = tp / n_true if n_true else float(n_detected == 0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def evaluate(true_centers, detections, thresholds, max_distance=4.0):
    """Return the report dict for ``detections`` (one centroid list per threshold)."""
    if len(detections) != len(thresholds):
        raise ValueError(f"{len(detections)} component sets for {len(thresholds)} thresholds")
    report = {"thresholds": [float(t) for t in thresholds], "precision": [], "recall": [],
              "f1": [], "counts": [], "true_count": len(true_centers),
              "max_distance": max_distance}
    for detected in detections:
        tp = match(true_centers, detected, max_distance)
        p, r, f = scores(len(true_centers), len(detected), tp)
        report["precision"].append(round(p, 6))
        report["recall"].append(round(r, 6))
        report["f1"].append(round(f, 6))
        report["counts"].append(len(detected))
    if thresholds:
        best = int(np.argmax(report["f1"]))  # first maximum = lowest threshold on ties
        report["best_threshold"] = report["thresholds"][best]
        report["best_f1"] = report["f1"][best]
    else:
        report["best_threshold"], report["best_f1"] = None, 0.0
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--truth", required=True, help="truth.json from make_volume")
    parser.add_argument("--components", nargs="+", required=True,
                        help="components.json files from label, one per threshold")
    parser.add_argument("--thresholds", nargs="+", type=float, required=True,
                        help="the thresholds, in the same order as --components")
    parser.add_argument("--max-distance", type=float, default=4.0,
                        help="largest centroid distance (voxels) that counts as a match")
    parser.add_argument("--out-dir", default=".", help="where to write report.json")
    args = parser.parse_args(argv)

    with open(args.truth) as f:
        truth = json.load(f)
    detections = []
    for path in args.components:
        with open(path) as f:
            detections.append(json.load(f)["centroids"])
    report = evaluate(truth["centers"], detections, args.thresholds, args.max_distance)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    for t, n, p, r, f1 in zip(report["thresholds"], report["counts"], report["precision"],
                              report["recall"], report["f1"]):
        print(f"threshold {t:g}: {n} found / {report['true_count']} true, "
              f"precision {p:.4f}, recall {r:.4f}, F1 {f1:.4f}")
    print(f"best threshold: {report['best_threshold']}")
    print(f"F1: {report['best_f1']:.4f}")


if __name__ == "__main__":
    main()
