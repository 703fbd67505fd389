#!/usr/bin/env python3
"""Score a predicted mask against a true one, voxel by voxel: precision, recall, IoU, Dice.

Non-zero voxels are foreground.  precision = TP / predicted, recall =
TP / true, IoU = TP / union and Dice = 2 TP / (predicted + true), which is the
voxel F1.  Two empty masks agree perfectly (every score 1).  Writes
``report.json`` and prints ``precision: …``, ``recall: …``, ``IoU: …`` and,
as its last line, ``Dice: <value>``.
"""
import argparse
import json
import os

import numpy as np


def mask_scores(truth, predicted):
    """Return the report dict of ``predicted`` against ``truth`` (same shape)."""
    t, p = np.asarray(truth) != 0, np.asarray(predicted) != 0
    if t.shape != p.shape:
        raise ValueError(f"shapes differ: truth {t.shape}, predicted {p.shape}")
    tp, n_t, n_p = int(np.sum(t & p)), int(t.sum()), int(p.sum())
    union = n_t + n_p - tp
    return {"true_voxels": n_t, "predicted_voxels": n_p, "true_positives": tp,
            "precision": round(tp / n_p if n_p else float(n_t == 0), 6),
            "recall": round(tp / n_t if n_t else float(n_p == 0), 6),
            "iou": round(tp / union if union else 1.0, 6),
            "dice": round(2 * tp / (n_t + n_p) if n_t + n_p else 1.0, 6)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--truth", required=True, help="true mask (.npy)")
    parser.add_argument("--predicted", required=True, help="predicted mask (.npy)")
    parser.add_argument("--out-dir", default=".", help="where to write report.json")
    args = parser.parse_args(argv)

    try:
        report = mask_scores(np.load(args.truth), np.load(args.predicted))
    except ValueError as e:
        parser.error(str(e))
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(f"precision: {report['precision']:.4f}")
    print(f"recall: {report['recall']:.4f}")
    print(f"IoU: {report['iou']:.4f}")
    print(f"Dice: {report['dice']:.4f}")


if __name__ == "__main__":
    main()
