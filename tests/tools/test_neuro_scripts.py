"""Tests for the neuroscience tool scripts in dockerfiles/neuro/.

The numpy/scipy parts run on the host: the scripts are loaded straight from
their files under unique module names (neuro_<script>), so generic names such
as ``threshold`` cannot clash with the blob tools'.  The scikit-image parts
(Otsu, Frangi) run inside the saber/neuro image, and one test runs the
workflows/cell_detect_local.cwl chain through ``saber run``; those are marked
docker/slow.
"""
from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from saber_testing import ROOT, load_script, needs_docker, run_saber

NEURO = ROOT / "dockerfiles" / "neuro"
IMAGE = f"saber/neuro:{(NEURO / 'VERSION').read_text().strip()}"


def _load(name):
    return load_script("neuro", name)


synth = _load("synth_volume")
probability = _load("cell_probability")
threshold = _load("threshold")
detect = _load("detect_cells")
components = _load("connected_components")
downsample = _load("downsample")
metrics = _load("metrics")
mask_metrics = _load("mask_metrics")


def _f1(truth, detected, max_distance=3.0):
    return metrics.detection_report(truth, detected, max_distance)["f1"]


# synth_volume ---------------------------------------------------------------

def test_synth_volume_outputs_and_determinism():
    raw, labels, vessels, centres, axes = synth.synth_volume((24, 32, 40), n_cells=6, seed=3)
    assert raw.shape == labels.shape == vessels.shape == (24, 32, 40)
    assert (raw.dtype, labels.dtype, vessels.dtype) == (np.uint8, np.uint16, bool)
    assert centres.shape == axes.shape == (6, 3)
    assert set(np.unique(labels)) == set(range(7))
    assert np.all((axes >= 0.8 * 3.0) & (axes <= 1.2 * 3.0))
    again = synth.synth_volume((24, 32, 40), n_cells=6, seed=3)
    np.testing.assert_array_equal(raw, again[0])
    assert not np.array_equal(raw, synth.synth_volume((24, 32, 40), n_cells=6, seed=4)[0])


def test_synth_volume_truth_is_consistent():
    raw, labels, vessels, centres, _ = synth.synth_volume((32, 48, 48), n_cells=10, seed=1)
    from scipy import ndimage

    voxel_centroids = ndimage.center_of_mass(labels > 0, labels, np.arange(1, 11))
    np.testing.assert_allclose(voxel_centroids, centres, atol=0.5)
    assert not np.any((labels > 0) & vessels)  # cells keep clear of vessels
    background = raw[(labels == 0) & ~vessels]
    assert raw[labels > 0].mean() > background.mean() + 100
    assert raw[vessels].mean() > background.mean() + 50


def test_bezier_path_is_dense_and_spans_the_volume():
    path = synth.bezier_path(np.random.default_rng(0), (20, 30, 40))
    assert np.max(np.linalg.norm(np.diff(path, axis=0), axis=1)) <= 0.5
    spans = [np.isclose(path[0, a], 0) and np.isclose(path[-1, a], s - 1)
             for a, s in enumerate((20, 30, 40))]
    assert sum(spans) == 1


@pytest.mark.parametrize("kwargs, message", [
    pytest.param({"shape": (8, 8, 8), "n_cells": 1}, "too small", id="tiny-volume"),
    pytest.param({"shape": (16, 16, 16), "n_cells": 40}, "cannot place", id="too-many-cells"),
    pytest.param({"shape": (16, 16), "n_cells": 1}, "3-D shape", id="2d-shape"),
])
def test_synth_volume_rejects_impossible_requests(kwargs, message):
    with pytest.raises(ValueError, match=message):
        synth.synth_volume(**kwargs)


def test_synth_volume_main_writes_files(tmp_path, capsys):
    synth.main(["--shape", "16", "24", "24", "--n-cells", "2", "--n-vessels", "1",
                "--out-dir", str(tmp_path)])
    assert capsys.readouterr().out.startswith("volume: 16x24x24, cells: 2")
    assert np.load(tmp_path / "raw.npy").shape == (16, 24, 24)
    assert np.load(tmp_path / "cell_labels.npy").max() == 2
    assert np.load(tmp_path / "vessel_mask.npy").any()
    cells = json.loads((tmp_path / "cells.json").read_text())
    assert cells["count"] == 2 and len(cells["centroids"]) == 2 and cells["shape"] == [16, 24, 24]


# cell_probability -----------------------------------------------------------

def test_cell_probability_separates_cells_from_background():
    raw, labels, vessels, _, _ = synth.synth_volume((32, 32, 32), n_cells=8, seed=0)
    prob = probability.cell_probability(raw)
    assert prob.dtype == np.float32 and prob.min() >= 0.0 and prob.max() <= 1.0
    assert prob[labels > 0].mean() > 0.9
    assert prob[(labels == 0) & ~vessels].mean() < 0.2


def test_cell_probability_ignores_brightness_and_contrast():
    raw = synth.synth_volume((24, 24, 24), n_cells=4, n_vessels=0, seed=2)[0].astype(float)
    np.testing.assert_allclose(probability.cell_probability(3.0 * raw + 40.0),
                               probability.cell_probability(raw), atol=1e-4)


def test_cell_probability_flat_volume_is_finite_and_rejects_bad_parameters():
    assert np.all(np.isfinite(probability.cell_probability(np.full((8, 8, 8), 5.0))))
    with pytest.raises(ValueError, match="gain > 0"):
        probability.cell_probability(np.zeros((4, 4, 4)), gain=0.0)


# threshold ------------------------------------------------------------------

def test_fixed_threshold_is_inclusive():
    mask, level = threshold.threshold_volume(np.array([[[0.1, 0.5, 0.9]]]), "fixed", 0.5)
    np.testing.assert_array_equal(mask, [[[False, True, True]]])
    assert level == 0.5


@pytest.mark.parametrize("method, value, message", [
    pytest.param("fixed", None, "needs a threshold", id="fixed-without-level"),
    pytest.param("median", 0.5, "unknown method 'median'", id="unknown-method"),
])
def test_threshold_rejects_bad_arguments(method, value, message):
    with pytest.raises(ValueError, match=message):
        threshold.threshold_volume(np.zeros((2, 2, 2)), method, value)


def test_otsu_separates_two_populations_on_host():
    pytest.importorskip("skimage")  # in the image; test_otsu_in_image covers it there
    values = np.concatenate([np.random.default_rng(0).normal(30, 5, 5000),
                             np.random.default_rng(1).normal(200, 10, 1000)])
    mask, level = threshold.threshold_volume(values.reshape(-1, 10, 10), "otsu")
    assert values[:5000].max() <= level < values[5000:].min() and mask.sum() == 1000


# detect_cells ---------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("source", ["raw", "probability"])
def test_detect_cells_finds_the_cells(seed, source):
    raw, _, _, centres, _ = synth.synth_volume((32, 48, 48), n_cells=12, seed=seed)
    volume = raw if source == "raw" else probability.cell_probability(raw)
    found, scores, _ = detect.detect_cells(volume)
    assert len(found) == len(scores) and _f1(centres, found) >= 0.9


def test_blobness_tells_spheres_from_tubes():
    z, y, x = np.mgrid[:21, :21, :21] - 10.0
    sphere = np.exp(-(z ** 2 + y ** 2 + x ** 2) / 8.0)
    tube = np.exp(-(y ** 2 + x ** 2) / 8.0)
    centre = np.array([[10, 10, 10]])
    assert detect.blobness(detect.hessian_eigenvalues(sphere, centre))[0] > 0.9
    assert detect.blobness(detect.hessian_eigenvalues(tube, centre))[0] < 0.05
    assert detect.blobness(detect.hessian_eigenvalues(-sphere, centre))[0] == 0.0  # a dark blob


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_detect_cells_rejects_vessel_maxima(seed):
    # One vessel: where two cross, the junction is blob-like and may rightly be kept.
    raw = synth.synth_volume((32, 32, 32), n_cells=0, n_vessels=1, seed=seed)[0]
    assert len(detect.detect_cells(raw)[0]) == 0
    assert len(detect.detect_cells(raw, min_blobness=0.0)[0]) >= 3  # the filter does the work


def test_local_maxima_keeps_one_voxel_per_plateau():
    volume = np.zeros((9, 9, 9))
    volume[2:4, 2:4, 2:4] = 1.0  # flat top
    volume[7, 7, 7] = 0.5
    peaks = detect.local_maxima(volume, min_distance=1, threshold=0.3)
    assert sorted(map(tuple, peaks.tolist())) == [(2, 2, 2), (7, 7, 7)]


def test_seeded_labels_give_each_voxel_to_the_nearest_cell():
    smoothed = np.zeros((5, 5, 12))
    smoothed[:, :, :] = 1.0
    smoothed[:, :, 6] = 0.0  # a dark wall between the two halves
    labels = detect.seeded_labels(smoothed, np.array([[2.0, 2.0, 2.0], [2.0, 2.0, 9.0]]),
                                  level=0.5, max_radius=10)
    assert labels.dtype == np.uint32
    assert set(np.unique(labels[:, :, :6])) == {1} and set(np.unique(labels[:, :, 7:])) == {2}
    assert not labels[:, :, 6].any()
    assert not detect.seeded_labels(smoothed, np.zeros((0, 3)), 0.5, 10).any()


def test_detect_cells_main_writes_consistent_outputs(tmp_path, capsys):
    raw = synth.synth_volume((24, 32, 32), n_cells=5, seed=9)[0]
    np.save(tmp_path / "raw.npy", raw)
    detect.main(["--volume", str(tmp_path / "raw.npy"), "--out-dir", str(tmp_path)])
    found = json.loads((tmp_path / "detections.json").read_text())
    assert capsys.readouterr().out.strip() == f"cells: {found['count']}"
    assert (tmp_path / "count.txt").read_text().strip() == str(found["count"])
    labels = np.load(tmp_path / "labels.npy")
    assert labels.max() == found["count"] == len(found["centroids"]) == len(found["scores"])
    for i, c in enumerate(found["centroids"], start=1):
        assert labels[tuple(np.rint(c).astype(int))] == i


# connected_components -------------------------------------------------------

@pytest.mark.parametrize("connectivity, expected", [
    pytest.param(6, 3, id="faces"), pytest.param(18, 3, id="edges"), pytest.param(26, 1, id="corners"),
])
def test_connected_components_connectivity(connectivity, expected):
    mask = np.zeros((4, 4, 4), dtype=np.uint8)
    mask[0, 0, 0] = mask[1, 1, 1] = mask[2, 2, 2] = 1  # touching at corners only
    labels, centroids, sizes = components.connected_components(mask, connectivity=connectivity)
    assert labels.dtype == np.uint32 and len(centroids) == expected == labels.max()
    assert sizes.sum() == 3


def test_connected_components_drops_small_and_renumbers():
    mask = np.zeros((20, 20, 20), dtype=bool)
    mask[0, 0, 0] = True              # 1 voxel: dropped
    mask[2:5, 2:5, 2:5] = True        # 27 voxels, centroid (3, 3, 3)
    mask[10:14, 10:14, 10:14] = True  # 64 voxels
    labels, centroids, sizes = components.connected_components(mask, min_size=5)
    assert set(np.unique(labels)) == {0, 1, 2} and list(sizes) == [27, 64]
    np.testing.assert_allclose(centroids, [[3, 3, 3], [11.5, 11.5, 11.5]])
    with pytest.raises(ValueError, match="not 4"):
        components.connected_components(mask, connectivity=4)


def test_connected_components_main(tmp_path, capsys):
    mask = np.zeros((10, 10, 10), dtype=bool)
    mask[1:4, 1:4, 1:4] = mask[6:9, 6:9, 6:9] = True
    np.save(tmp_path / "mask.npy", mask)
    components.main(["--mask", str(tmp_path / "mask.npy"), "--out-dir", str(tmp_path)])
    assert capsys.readouterr().out.strip() == "components: 2"
    assert json.loads((tmp_path / "components.json").read_text())["sizes"] == [27, 27]


# downsample -----------------------------------------------------------------

def test_downsample_mean_values_and_cropping():
    volume = np.arange(5 * 6 * 7, dtype=np.uint8).reshape(5, 6, 7)
    out = downsample.downsample(volume, (2, 3, 2), "mean")
    assert out.shape == (2, 2, 3) and out.dtype == np.float32
    assert out[0, 0, 0] == pytest.approx(volume[:2, :3, :2].mean())
    assert out[1, 1, 2] == pytest.approx(volume[2:4, 3:6, 4:6].mean())


def test_downsample_max_keeps_labels():
    labels = np.zeros((4, 4, 4), dtype=np.uint32)
    labels[0, 0, 0] = 7
    labels[3, 3, 3] = 9
    out = downsample.downsample(labels, (2, 2, 2), "max")
    assert out.dtype == np.uint32 and out[0, 0, 0] == 7 and out[1, 1, 1] == 9
    assert out.sum() == 16
    np.testing.assert_array_equal(downsample.downsample(labels, (1, 1, 1), "max"), labels)


@pytest.mark.parametrize("factors, mode, message", [
    pytest.param((2, 2), "mean", "need 3 factors", id="too-few-factors"),
    pytest.param((0, 1, 1), "mean", "need 3 factors >= 1", id="zero-factor"),
    pytest.param((8, 1, 1), "mean", "exceed the shape", id="too-large"),
    pytest.param((1, 1, 1), "median", "unknown mode", id="bad-mode"),
])
def test_downsample_rejects_bad_arguments(factors, mode, message):
    with pytest.raises(ValueError, match=message):
        downsample.downsample(np.zeros((4, 4, 4)), factors, mode)


# metrics --------------------------------------------------------------------

TRUE = [[10, 10, 10], [20, 20, 20], [30, 30, 30], [40, 40, 40]]


@pytest.mark.parametrize("detected, precision, recall, f1", [
    pytest.param((np.array(TRUE) + 1.0).tolist(), 1.0, 1.0, 1.0, id="jittered"),
    pytest.param(TRUE[:2], 1.0, 0.5, 2 / 3, id="misses"),
    pytest.param(TRUE + [[5, 40, 5], [40, 5, 40]], 4 / 6, 1.0, 0.8, id="extras"),
    pytest.param((np.array(TRUE) + 4.0).tolist(), 0.0, 0.0, 0.0, id="too-far"),
    pytest.param([], 0.0, 0.0, 0.0, id="none"),
    pytest.param([[10, 10, 10], [10, 10, 11]], 0.5, 0.25, 1 / 3, id="one-to-one"),
])
def test_detection_report_on_known_matches(detected, precision, recall, f1):
    report = metrics.detection_report(TRUE, detected, max_distance=3.0)
    assert report["precision"] == pytest.approx(precision, abs=1e-6)
    assert report["recall"] == pytest.approx(recall, abs=1e-6)
    assert report["f1"] == pytest.approx(f1, abs=1e-6)


def test_match_is_greedy_by_distance():
    # the detection at 10.5 is nearer to the first centre, so the second goes to 12.5
    assert metrics.match([[10, 0, 0], [12, 0, 0]], [[12.5, 0, 0], [10.5, 0, 0]]) == [(0, 1), (1, 0)]
    assert metrics.scores(0, 0, 0) == (1.0, 1.0, 1.0)


def test_metrics_main_prints_f1_last(tmp_path, capsys):
    (tmp_path / "truth.json").write_text(json.dumps({"centroids": TRUE}))
    (tmp_path / "found.json").write_text(json.dumps({"count": 3, "centroids": TRUE[:3]}))
    metrics.main(["--truth", str(tmp_path / "truth.json"), "--detected",
                  str(tmp_path / "found.json"), "--out-dir", str(tmp_path)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == ["precision: 1.0000", "recall: 0.7500", "F1: 0.8571"]
    assert json.loads((tmp_path / "report.json").read_text())["true_positives"] == 3


def _cells(shape, centres, dtype, ids):
    """A label volume with a 3x3x3 cube of label ids[i] around each (integer) centre."""
    labels = np.zeros(shape, dtype=dtype)
    for (z, y, x), label in zip(centres, ids):
        labels[z - 1:z + 2, y - 1:y + 2, x - 1:x + 2] = label
    return labels


@pytest.mark.parametrize("dtype, ids", [
    pytest.param(np.uint8, [1, 2, 3], id="uint8"),
    pytest.param(np.uint32, [7, 3, 12], id="uint32-unordered"),
    pytest.param(np.uint64, [2**40, 2**63 + 5, 9], id="uint64-huge-ids"),
    pytest.param(np.int16, [1, 2, 3], id="int16"),
])
def test_label_centroids_are_centres_of_mass_in_label_order(dtype, ids):
    centres = [[2, 3, 4], [5, 10, 6], [8, 2, 12]]
    labels = _cells((12, 14, 16), centres, dtype, ids)
    labels[8, 2, 14] = ids[2]  # a 28th voxel, 2 past the cube's centre: x moves by 2/28
    centre_of = dict(zip(ids, centres)) | {ids[2]: [8, 2, 12 + 2 / 28]}
    np.testing.assert_allclose(metrics.label_centroids(labels), [centre_of[i] for i in sorted(ids)])


@pytest.mark.parametrize("labels, message", [
    pytest.param(np.zeros((4, 4, 4), dtype=np.float32), "integer dtype", id="float"),
    pytest.param(np.zeros((4, 4), dtype=np.uint16), "3-D", id="2-D"),
])
def test_label_centroids_rejects_non_label_volumes(labels, message):
    with pytest.raises(ValueError, match=message):
        metrics.label_centroids(labels)


def test_label_volume_truth_scores_like_its_centroids(tmp_path, capsys):
    centres = [[2, 3, 4], [5, 10, 6], [8, 2, 12]]
    np.save(tmp_path / "truth.npy", _cells((12, 14, 16), centres, np.uint64, [5, 6, 2**50]))
    (tmp_path / "found.json").write_text(json.dumps({"centroids": [[2, 3, 5], [8, 2, 12]]}))
    metrics.main(["--truth", str(tmp_path / "truth.npy"), "--detected", str(tmp_path / "found.json"),
                  "--out-dir", str(tmp_path)])
    assert capsys.readouterr().out.splitlines()[-1] == "F1: 0.8000"
    assert json.loads((tmp_path / "report.json").read_text())["true_count"] == 3


BOX = {"axes": "zyx", "core_in_array": {"x": [20, 40], "y": [0, 64], "z": [10, 30]},
       "core": {"x": [20, 40]}}  # boss_pull's other keys are ignored


@pytest.mark.parametrize("truth, detected, counts, f1", [
    pytest.param([[10, 5, 20], [29.9, 63.9, 39.9]], [[10, 5, 20], [29.9, 63.9, 39.9]], (2, 2, 2), 1.0,
                 id="low-edges-and-just-below-high-ones-count"),
    pytest.param([[15, 5, 30], [30, 5, 30], [15, 5, 40]], [[15, 5, 30]], (1, 1, 1), 1.0,
                 id="high-edges-excluded"),
    pytest.param([[15, 5, 30]], [[15, 5, 30], [15, 5, 19.5], [9.9, 5, 30]], (1, 1, 1), 1.0,
                 id="detections-outside-ignored"),
    pytest.param([[15, 5, 30], [20, 5, 30]], [[15, 5, 30]], (2, 1, 1), 2 / 3, id="miss-inside"),
    pytest.param([[5, 5, 30]], [[40, 5, 30]], (0, 0, 0), 1.0, id="empty-core-scores-1"),
    pytest.param([], [], (0, 0, 0), 1.0, id="nothing-at-all"),
    pytest.param([[15, 5, 30]], [], (1, 0, 0), 0.0, id="all-missed"),
    # a cell on the core's face, its detection just across: a match for this block and the next
    pytest.param([[15, 5, 39.5]], [[15, 5, 40.5]], (1, 0, 1), 1.0, id="true-inside-found-outside"),
    pytest.param([[15, 5, 40.5]], [[15, 5, 39.5]], (0, 1, 0), 1.0, id="found-inside-true-outside"),
    pytest.param([[15, 5, 40.5]], [[15, 5, 39.5], [15, 5, 25]], (0, 2, 0), 2 / 3, id="one-false-inside"),
])
def test_core_report_counts_only_centroids_in_the_core(truth, detected, counts, f1):
    report = metrics.core_report(truth, detected, BOX)
    assert (report["true_count"], report["detected_count"], report["true_positives"]) == counts
    assert report["f1"] == pytest.approx(f1, abs=1e-6)
    assert report["core"] == {"axes": "zyx", "z": [10, 30], "y": [0, 64], "x": [20, 40],
                              "true_outside": len(truth) - counts[0],
                              "detected_outside": len(detected) - counts[1]}


def test_core_follows_the_box_axes():
    xyz = {"axes": "xyz", "core_in_array": {"x": [0, 8], "y": [0, 8], "z": [4, 6]}}
    report = metrics.core_report([[1, 1, 5], [5, 1, 1]], [[1, 1, 5]], xyz)
    assert (report["true_count"], report["f1"]) == (1, 1.0)


@pytest.mark.parametrize("box, message", [
    pytest.param({"axes": "zy", "core_in_array": BOX["core_in_array"]}, "'zyx' or 'xyz'", id="axes"),
    pytest.param({"axes": "zyx"}, "core_in_array", id="no-core"),
    pytest.param({"axes": "zyx", "core_in_array": {"x": [0, 4], "y": [0, 4]}}, r"\['z'\]", id="missing-axis"),
    pytest.param({"axes": "zyx", "core_in_array": {"x": [4, 0], "y": [0, 4], "z": [0, 4]}}, "low <= high",
                 id="reversed"),
])
def test_core_bounds_rejects_bad_boxes(box, message):
    with pytest.raises(ValueError, match=message):
        metrics.core_bounds(box)


def test_metrics_main_with_box_on_a_padded_label_block(tmp_path, capsys):
    # a (24, 64, 64) block padded by 8 around the core y, x in [8, 40): the cells at x = 4
    # and x = 50 lie in the padding (a neighbour block scores them)
    centres = [[12, 20, 4], [12, 20, 20], [12, 30, 30], [12, 20, 50]]
    np.save(tmp_path / "truth.npy", _cells((24, 64, 64), centres, np.uint64, [1, 2, 3, 4]))
    found = [[12, 20, 4.5], [12, 20, 21], [12, 20, 50]]
    (tmp_path / "found.json").write_text(json.dumps({"count": 3, "centroids": found}))
    box = {"axes": "zyx", "core_in_array": {"x": [8, 40], "y": [8, 40], "z": [0, 24]}, "padding": 8}
    (tmp_path / "cutout.json").write_text(json.dumps(box))
    metrics.main(["--truth", str(tmp_path / "truth.npy"), "--detected", str(tmp_path / "found.json"),
                  "--box", str(tmp_path / "cutout.json"), "--out-dir", str(tmp_path)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "core: z [0, 24), y [8, 40), x [8, 40) (outside it: 2 true, 2 detected)"
    assert lines[2:] == ["precision: 1.0000", "recall: 0.5000", "F1: 0.6667"]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["core"]["x"] == [8, 40] and report["true_count"] == 2


def test_metrics_main_rejects_a_bad_box(tmp_path, capsys):
    (tmp_path / "c.json").write_text(json.dumps({"centroids": TRUE}))
    (tmp_path / "box.json").write_text(json.dumps({"axes": "zyx"}))
    with pytest.raises(SystemExit) as exc:
        metrics.main(["--truth", str(tmp_path / "c.json"), "--detected", str(tmp_path / "c.json"),
                      "--box", str(tmp_path / "box.json"), "--out-dir", str(tmp_path)])
    assert exc.value.code == 2 and "core_in_array" in capsys.readouterr().err


# mask_metrics ---------------------------------------------------------------

def test_mask_scores_on_known_overlap():
    truth = np.zeros((4, 4, 4), dtype=bool)
    truth[0] = True                      # 16 voxels
    predicted = np.zeros_like(truth)
    predicted[0, :2] = predicted[1, :2] = True  # 8 right, 8 wrong
    report = mask_metrics.mask_scores(truth, predicted.astype(np.uint8))
    assert (report["precision"], report["recall"]) == (0.5, 0.5)
    assert report["dice"] == 0.5 and report["iou"] == pytest.approx(1 / 3, abs=1e-6)


def test_mask_scores_edge_cases():
    empty = np.zeros((3, 3, 3), dtype=bool)
    assert mask_metrics.mask_scores(empty, empty)["dice"] == 1.0
    assert mask_metrics.mask_scores(empty, ~empty)["dice"] == 0.0
    with pytest.raises(ValueError, match="shapes differ"):
        mask_metrics.mask_scores(empty, np.zeros((3, 3, 4)))


def test_mask_metrics_main_prints_dice_last(tmp_path, capsys):
    mask = np.ones((2, 2, 2), dtype=bool)
    np.save(tmp_path / "a.npy", mask)
    mask_metrics.main(["--truth", str(tmp_path / "a.npy"), "--predicted", str(tmp_path / "a.npy"),
                       "--out-dir", str(tmp_path)])
    assert capsys.readouterr().out.splitlines()[-1] == "Dice: 1.0000"


# the chain on the host ------------------------------------------------------

def test_chain_synth_probability_detect_metrics(tmp_path, capsys):
    d = str(tmp_path)
    synth.main(["--shape", "32", "48", "48", "--n-cells", "12", "--seed", "11", "--out-dir", d])
    probability.main(["--volume", f"{d}/raw.npy", "--out-dir", d])
    detect.main(["--volume", f"{d}/probability.npy", "--out-dir", d])
    capsys.readouterr()
    metrics.main(["--truth", f"{d}/cells.json", "--detected", f"{d}/detections.json", "--out-dir", d])
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("F1: ") and float(last[4:]) >= 0.9


# in the image (scikit-image) and through saber run --------------------------

def _image_ready() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, check=False).returncode == 0


needs_image = pytest.mark.skipif(not _image_ready(),
                                 reason=f"needs the {IMAGE} image (bash scripts/build-images.sh)")


def _in_image(code: str) -> dict:
    """Run ``code`` with the tool scripts importable inside the image; return its printed JSON."""
    result = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", IMAGE, "python3", "-c",
         "import sys; sys.path.insert(0, '/opt/saber-tools/neuro')\n" + code],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@needs_docker
@needs_image
@pytest.mark.docker
@pytest.mark.slow
def test_otsu_in_image():
    out = _in_image(
        "import json, numpy as np, threshold\n"
        "rng = np.random.default_rng(0)\n"
        "v = np.concatenate([rng.normal(30, 5, 5000), rng.normal(200, 10, 1000)]).reshape(-1, 10, 10)\n"
        "m, level = threshold.threshold_volume(v, 'otsu')\n"
        "print(json.dumps({'level': level, 'foreground': int(m.sum()),\n"
        "                  'gap': [float(v.flat[:5000].max()), float(v.flat[5000:].min())]}))")
    # any level in the gap between the populations separates them; Otsu's is its low end
    low, high = out["gap"]
    assert low <= out["level"] < high and out["foreground"] == 1000


@needs_docker
@needs_image
@pytest.mark.docker
@pytest.mark.slow
def test_vessel_segment_in_image():
    out = _in_image(
        "import json, synth_volume, vessel_segment, mask_metrics\n"
        "raw, labels, vessels, _, _ = synth_volume.synth_volume((32, 48, 48), n_cells=10, seed=2)\n"
        "mask, _ = vessel_segment.vessel_mask(vessel_segment.vesselness(raw))\n"
        "print(json.dumps({**mask_metrics.mask_scores(vessels, mask),\n"
        "                  'in_cells': int((mask & (labels > 0)).sum())}))")
    assert out["dice"] >= 0.8 and out["in_cells"] == 0


@needs_docker
@needs_image
@pytest.mark.docker
@pytest.mark.slow
def test_cell_detect_workflow_through_saber_run(saber_home, tmp_path):
    out = tmp_path / "out"
    result = run_saber("run", "workflows/cell_detect_local.cwl", "--outdir", str(out))
    assert result.returncode == 0, result.stderr
    (point,) = json.loads((out / "summary.json").read_text())["points"]
    assert point["state"] == "success"
    assert point["score"] >= 0.8
    assert point["outputs"]["f1"] == pytest.approx(point["score"], abs=1e-4)
