"""The SABER-style pipeline end to end, offline: a synthetic volume and its true cells ingested
into a local Boss API server (`saber bossdb serve`'s app), then workflows/cell_detect_boss.cwl
swept over 2 x 2 padded blocks by sweeps/cell_detect_boss.yml: every block pulled, scored and
merged back into one label channel through the unmodified intern client, in Docker."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import numpy as np
import pytest

from saber_testing import HOME, ROOT, files_holding, needs_docker, run_saber, yaml_writer

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow]
SHAPE = (24, 64, 64)  # z, y, x: the job's box and the sweep's 32-voxel tiles assume it


def test_cell_detection_over_bossdb_in_padded_blocks(saber_home, tmp_path, serve_boss):
    from saber.volumes import Box, ChannelRef, PrecomputedStore

    token = "tok-" + secrets.token_hex(12)
    env = {"BOSSDB_TOKEN": token}
    # The recipe of workflows/cell_detect_boss.job.yml, command for command.
    synth = tmp_path / "synth"
    result = run_saber("cwl-runner", "--outdir", str(synth), "cwl_tools/neuro/synth_volume.cwl",
                       "workflows/cell_detect_boss.synth.yml")
    assert result.returncode == 0, result.stderr
    cells = np.load(synth / "cell_labels.npy")
    assert cells.shape == SHAPE and cells.max() == 24
    with serve_boss(tmp_path / "bossdb", token=token) as server:
        for file, name, extra in (("raw.npy", "raw", []), ("cell_labels.npy", "cells", ["--dtype", "uint64"])):
            result = run_saber("bossdb", "ingest", str(synth / file), f"bossdb://saber/synth/{name}",
                               "--host", server.url, *extra, env=env)
            assert result.returncode == 0, result.stderr
        job = yaml_writer(tmp_path, "job.yml")(
            (ROOT / "workflows" / "cell_detect_boss.job.yml").read_text().replace(
                "http://127.0.0.1:8000", server.url))
        out = tmp_path / "out"
        result = run_saber("run", "workflows/cell_detect_boss.cwl", "sweeps/cell_detect_boss.yml",
                           "--job", str(job), "--outdir", str(out), env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        # A wrong token: the trial fails with the tool's own sentence, shown by saber run.
        wrong = run_saber("run", "workflows/cell_detect_boss.cwl", "--job", str(job), "--outdir",
                          str(tmp_path / "wrong"), env={"BOSSDB_TOKEN": "not-the-token"})
        assert wrong.returncode == 1
        said = " ".join(wrong.stderr.split())
        assert "failed: boss_pull: error: the server at " in said and "refused the token (HTTP 401)" in said

    summary = json.loads((out / "summary.json").read_text())
    trials = summary["points"]
    assert [t["params"] for t in trials] == [{"x": 0, "y": 0}, {"x": 0, "y": 32}, {"x": 32, "y": 0},
                                             {"x": 32, "y": 32}]
    assert all(t["state"] == "success" and t["score"] >= 0.8 for t in trials), trials
    # Every true cell is scored in exactly one block: the one whose core holds its centre.
    reports = [json.loads(Path(t["outputs"]["report"]["path"]).read_text()) for t in trials]
    assert sum(r["true_count"] for r in reports) == int(cells.max())

    # The merged channel: one ID per detected cell, also for cells that cross block faces.
    merged = PrecomputedStore(server.root).read(ChannelRef("saber", "synth", "detections"), 0,
                                                Box(x=(0, 64), y=(0, 64), z=(0, 24)))
    assert merged.dtype == np.uint64 and merged.shape == SHAPE
    split, found = [], 0
    for label in range(1, int(cells.max()) + 1):
        ids = set(np.unique(merged[cells == label])) - {0}
        found += bool(ids)
        zs, ys, xs = np.nonzero(cells == label)
        crosses = (xs.min() < 32 <= xs.max()) or (ys.min() < 32 <= ys.max())
        if crosses and len(ids) > 1:
            split.append((label, sorted(ids)))
    assert found >= 0.9 * cells.max() and not split, split
    adopted = sum(json.loads(Path(t["outputs"]["merged"]["path"]).read_text())["adopted"] for t in trials)
    assert adopted > 0  # some cells did cross a face, and kept their neighbour's ID

    # The token, given only through the environment, is nowhere in saber's state.
    assert not files_holding(HOME.root, token) and not files_holding(out, token)
