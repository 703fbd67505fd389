"""The `bossdb:` key of expectations: a local Boss API served for a sample job, its channels
ingested before and checked after (no Docker here: the checks run against what was ingested)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from saber.errors import InputError
from saber.registry._sample_bossdb import check_channels, check_spec, sample_server


def test_ingest_serve_and_check(tmp_path: Path) -> None:
    raw = np.zeros((2, 8, 8), np.uint8)
    raw[0, :2, :3] = 7
    np.save(tmp_path / "raw.npy", raw)
    np.save(tmp_path / "labels.npy", np.arange(2 * 8 * 4, dtype=np.uint8).reshape(2, 8, 4))
    spec = check_spec({"token": "t0k", "ingest": [
        {"file": "raw.npy", "channel": "bossdb://c/e/raw"},
        {"file": "labels.npy", "channel": "bossdb://c/e/labels", "dtype": "uint64"}]}, tmp_path / "x.expect.yml")
    with sample_server(spec, tmp_path, tmp_path / "store") as server:
        assert server.url.startswith("http://127.0.0.1:") and server.token == "t0k"
        assert check_channels(server, {
            "bossdb://c/e/raw": {"dtype": "uint8", "kind": "image", "nonzero_min": 6, "nonzero_max": 6,
                                 "labels_max": 1},
            "bossdb://c/e/labels": {"dtype": "uint64", "kind": "annotation", "labels_min": 63,
                                    "box": {"x": [0, 4], "y": [0, 8], "z": [0, 2]}},
        }) == []
        problems = check_channels(server, {
            "bossdb://c/e/raw": {"dtype": "uint16", "nonzero_min": 7, "labels_max": 0},
            "bossdb://c/e/nope": {},
        })
        assert problems[:3] == [
            "channel bossdb://c/e/raw: dtype uint8, expected uint16",
            "channel bossdb://c/e/raw: 6 nonzero voxels, below nonzero_min 7",
            "channel bossdb://c/e/raw: 1 distinct nonzero values, above labels_max 0",
        ]
        assert problems[3].startswith("channel bossdb://c/e/nope: cannot read it back: ") and "404" in problems[3]
        assert len(problems) == 4


@pytest.mark.parametrize(("spec", "error"), [
    pytest.param({"tokn": "x"}, r"unknown key 'tokn' in bossdb \(expected token, ingest, channels\)", id="key"),
    pytest.param({"ingest": [{"file": "a.npy"}]}, r"'bossdb.ingest' must be a list of", id="ingest"),
    pytest.param({"channels": {"bossdb://c/e/ch": {"nonzero": 3}}}, r"unknown key 'nonzero' in bossdb.channels",
                 id="check"),
    pytest.param(["x"], r"'bossdb' must be a mapping", id="mapping"),
])
def test_spec_errors(spec, error: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=error):
        check_spec(spec, tmp_path / "t.expect.yml")
