"""Unit tests for the blob tool scripts in dockerfiles/blobs/ (no Docker needed).

The scripts are loaded straight from their files under unique module names
(blobs_<script>), so generic names such as ``label`` cannot clash with other
modules.
"""
import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from saber_testing import load_script

BLOBS = Path(__file__).resolve().parents[2] / "dockerfiles" / "blobs"


def _load(name):
    return load_script("blobs", name)


make_volume = _load("make_volume")
threshold = _load("threshold")
label = _load("label")
evaluate = _load("evaluate")


# make_volume ----------------------------------------------------------------

def test_make_volume_shape_range_and_determinism():
    vol, centers, amps = make_volume.make_volume(size=32, n_blobs=5, noise=0.1, seed=3)
    assert vol.shape == (32, 32, 32) and vol.dtype == np.float32
    assert vol.min() >= 0.0 and vol.max() <= 1.0
    assert centers.shape == (5, 3) and len(amps) == 5
    assert np.all((amps >= 0.5) & (amps <= 1.0))
    again, centers2, _ = make_volume.make_volume(size=32, n_blobs=5, noise=0.1, seed=3)
    np.testing.assert_array_equal(vol, again)
    np.testing.assert_array_equal(centers, centers2)
    other, _, _ = make_volume.make_volume(size=32, n_blobs=5, noise=0.1, seed=4)
    assert not np.array_equal(vol, other)


def test_make_volume_centres_are_separated_and_inside():
    radius = 3.0
    _, centers, _ = make_volume.make_volume(size=48, n_blobs=16, noise=0.0, seed=0, radius=radius)
    assert np.all(centers >= 2 * radius) and np.all(centers <= 47 - 2 * radius)
    for a, b in combinations(centers, 2):
        assert np.linalg.norm(a - b) >= 4 * radius


@pytest.mark.parametrize("n_blobs", [1, 8, 12, 16])
def test_make_volume_blobs_are_separable(n_blobs):
    vol, centers, _ = make_volume.make_volume(size=48, n_blobs=n_blobs, noise=0.0, seed=1)
    labels, centroids, _ = label.label_mask(threshold.threshold_volume(vol, 0.2, sigma=0.0))
    assert len(centroids) == n_blobs
    # every true centre lies inside its own component
    hit = {labels[tuple(np.round(c).astype(int))] for c in centers}
    assert 0 not in hit and len(hit) == n_blobs


def test_make_volume_rejects_impossible_packing():
    with pytest.raises(ValueError, match="cannot place"):
        make_volume.make_volume(size=20, n_blobs=10, noise=0.0, seed=0)


def test_make_volume_main_writes_files(tmp_path):
    make_volume.main(["--size", "24", "--n-blobs", "2", "--out-dir", str(tmp_path)])
    assert np.load(tmp_path / "volume.npy").shape == (24, 24, 24)
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["n_blobs"] == 2 and len(truth["centers"]) == 2


# threshold ------------------------------------------------------------------

def test_threshold_without_smoothing_is_exact():
    vol = np.array([[[0.1, 0.5, 0.9]]])
    np.testing.assert_array_equal(threshold.threshold_volume(vol, 0.5, sigma=0.0),
                                  [[[False, True, True]]])


def test_threshold_smoothing_removes_isolated_spike():
    vol = np.zeros((15, 15, 15))
    vol[7, 7, 7] = 1.0  # one hot voxel: noise
    assert threshold.threshold_volume(vol, 0.5, sigma=0.0).sum() == 1
    assert threshold.threshold_volume(vol, 0.5, sigma=1.0).sum() == 0
    with pytest.raises(ValueError):
        threshold.threshold_volume(vol, 0.5, sigma=-1.0)


# label ----------------------------------------------------------------------

def test_label_counts_cubes_and_drops_small_ones():
    mask = np.zeros((20, 20, 20), dtype=bool)
    mask[2:5, 2:5, 2:5] = True        # 27 voxels, centroid (3, 3, 3)
    mask[10:14, 10:14, 10:14] = True  # 64 voxels, centroid (11.5, 11.5, 11.5)
    mask[17, 17, 17] = True           # 1 voxel: dropped (min_size 5)
    labels, centroids, sizes = label.label_mask(mask, min_size=5)
    assert len(centroids) == 2 and sorted(labels[labels > 0].tolist()) == sorted(
        [1] * 27 + [2] * 64)
    assert set(np.unique(labels)) == {0, 1, 2}
    np.testing.assert_allclose(centroids, [[3, 3, 3], [11.5, 11.5, 11.5]])
    assert list(sizes) == [27, 64]
    assert len(label.label_mask(mask, min_size=1)[1]) == 3


def test_label_uses_26_connectivity():
    mask = np.zeros((5, 5, 5), dtype=bool)
    mask[1, 1, 1] = mask[2, 2, 2] = mask[3, 3, 3] = True  # corners touching only
    _, centroids, _ = label.label_mask(mask, min_size=1)
    assert len(centroids) == 1


def test_label_empty_mask():
    labels, centroids, sizes = label.label_mask(np.zeros((4, 4, 4), dtype=bool))
    assert centroids.shape == (0, 3) and len(sizes) == 0 and not labels.any()


def test_label_main_writes_count(tmp_path, capsys):
    mask = np.zeros((10, 10, 10), dtype=bool)
    mask[1:4, 1:4, 1:4] = mask[6:9, 6:9, 6:9] = True
    np.save(tmp_path / "mask.npy", mask)
    label.main(["--mask", str(tmp_path / "mask.npy"), "--out-dir", str(tmp_path)])
    assert capsys.readouterr().out.strip() == "components: 2"
    assert (tmp_path / "count.txt").read_text().strip() == "2"
    assert json.loads((tmp_path / "components.json").read_text())["count"] == 2


# evaluate -------------------------------------------------------------------

TRUE = [[10, 10, 10], [20, 20, 20], [30, 30, 30], [40, 40, 40]]


def test_evaluate_perfect_detection_scores_one():
    jittered = (np.array(TRUE) + 0.7).tolist()
    report = evaluate.evaluate(TRUE, [TRUE, jittered], [0.3, 0.5])
    assert report["f1"] == [1.0, 1.0]
    assert report["best_threshold"] == 0.3 and report["best_f1"] == 1.0  # tie: lowest


def test_evaluate_misses_and_false_positives_lower_f1():
    misses = TRUE[:2]                         # precision 1, recall 0.5
    extras = TRUE + [[5, 40, 5], [40, 5, 40]]  # precision 4/6, recall 1
    far = [[c + 5.0 for c in p] for p in TRUE]  # all beyond 4 voxels
    report = evaluate.evaluate(TRUE, [misses, extras, far, []], [0.1, 0.2, 0.3, 0.4])
    assert report["f1"][0] == pytest.approx(2 / 3, abs=1e-6)
    assert report["f1"][1] == pytest.approx(0.8, abs=1e-6)
    assert report["f1"][2] == 0.0 and report["f1"][3] == 0.0
    assert report["counts"] == [2, 6, 4, 0] and report["true_count"] == 4
    assert report["best_threshold"] == 0.2


def test_evaluate_matches_one_to_one():
    # two detections at one true centre count once
    assert evaluate.match(TRUE[:1], [[10, 10, 10], [10, 10, 11]]) == 1
    assert evaluate.scores(0, 0, 0) == (1.0, 1.0, 1.0)


def test_evaluate_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        evaluate.evaluate(TRUE, [TRUE], [0.3, 0.5])


def test_pipeline_end_to_end(tmp_path, capsys):
    d = str(tmp_path)
    make_volume.main(["--size", "48", "--n-blobs", "12", "--noise", "0.1", "--out-dir", d])
    components = []
    for i, t in enumerate(["0.3", "0.5"]):
        out = tmp_path / f"t{i}"
        threshold.main(["--volume", f"{d}/volume.npy", "--threshold", t, "--out-dir", str(out)])
        label.main(["--mask", str(out / "mask.npy"), "--out-dir", str(out)])
        components.append(str(out / "components.json"))
    capsys.readouterr()
    evaluate.main(["--truth", f"{d}/truth.json", "--components", *components,
                   "--thresholds", "0.3", "0.5", "--out-dir", d])
    assert capsys.readouterr().out.splitlines()[-1] == "F1: 1.0000"
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["counts"][0] == 12 and report["best_threshold"] == 0.3
