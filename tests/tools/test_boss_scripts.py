"""dockerfiles/boss/boss_access.py (boss_pull, boss_push, boss_merge) on the host, through the
unmodified intern client, against the local Boss API server (the `boss_server` fixture)."""

from __future__ import annotations

import json
import re
import socket
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from saber_testing import load_script

from saber.volumes import BossVolumes, Box, ChannelRef, ingest_volume

boss = load_script("boss", "boss_access")

RAW = np.random.default_rng(7).integers(1, 255, size=(8, 32, 32), dtype=np.uint8)  # z, y, x
CORE = ["--xmin", "8", "--xmax", "24", "--ymin", "8", "--ymax", "24", "--zmin", "2", "--zmax", "6"]


@pytest.fixture(scope="module")
def server(boss_server):
    """The server with bossdb://tiles/exp/raw (RAW, a 32 x 32 x 8 frame) ingested."""
    ingest_volume(BossVolumes(boss_server.url, boss_server.token), ChannelRef("tiles", "exp", "raw"), RAW)
    return boss_server


@pytest.fixture
def run(server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    """boss_access.main(COMMAND --host SERVER ... --out-dir tmp_path) with the server's token;
    returns (exit status, stdout, stderr)."""

    def run_(command: str, *args: str, token: str | None = None, host: str | None = None, chan: str = "raw",
             coll: str = "tiles", exp: str = "exp") -> tuple[int, str, str]:
        monkeypatch.setenv("BOSSDB_TOKEN", server.token if token is None else token)
        status = boss.main([command, "--host", host or server.url, "--coll", coll, "--exp", exp, "--chan", chan,
                            "--out-dir", str(tmp_path), "--tries", "2", "--backoff-s", "0.01", *args])
        out, err = capsys.readouterr()
        return status, out, err

    return run_


def _read(server, chan: str, box: Box) -> np.ndarray:
    return BossVolumes(server.url, server.token).read(ChannelRef("tiles", "exp", chan), 0, box)


# -- boxes, casts and ids: pure functions ----------------------------------------------------

EXTENT = {"x": [0, 32], "y": [0, 32], "z": [0, 8]}


@pytest.mark.parametrize(("core", "padding", "onesided", "padded"), [
    pytest.param({"x": [8, 24], "y": [8, 24], "z": [2, 6]}, 4, 0,
                 {"x": [4, 28], "y": [4, 28], "z": [0, 8]}, id="inside-z-clamped"),
    pytest.param({"x": [0, 8], "y": [24, 32], "z": [0, 8]}, 4, 0,
                 {"x": [0, 12], "y": [20, 32], "z": [0, 8]}, id="clamped-at-both-edges"),
    pytest.param({"x": [8, 24], "y": [8, 24], "z": [2, 6]}, 4, 1,
                 {"x": [8, 28], "y": [8, 28], "z": [2, 8]}, id="onesided"),
    pytest.param({"x": [8, 24], "y": [8, 24], "z": [2, 6]}, 0, 0,
                 {"x": [8, 24], "y": [8, 24], "z": [2, 6]}, id="no-padding"),
])
def test_padded_box(core, padding, onesided, padded) -> None:
    assert boss.padded_box(core, padding, onesided, EXTENT) == padded


def test_frame_extent_halves_x_and_y_per_level() -> None:
    frame = SimpleNamespace(x_start=0, x_stop=33, y_start=0, y_stop=20, z_start=0, z_stop=9)
    assert boss.frame_extent(frame, 3, "anisotropic", 1) == {"x": [0, 17], "y": [0, 10], "z": [0, 9]}
    assert boss.frame_extent(frame, 3, "isotropic", 2) == {"x": [0, 9], "y": [0, 5], "z": [0, 3]}
    with pytest.raises(boss.BossAccessError, match=r"resolution 3 does not exist: .* levels 0 to 2"):
        boss.frame_extent(frame, 3, "anisotropic", 3)


def test_block_ids_never_collide_in_a_tiling_of_2_voxel_blocks() -> None:
    extent = {"x": [0, 6], "y": [0, 4], "z": [0, 2]}
    ranges = []
    for z in range(2):
        for y in range(0, 4, 2):
            for x in range(0, 6, 2):
                base = boss.block_base({"x": [x, x + 2], "y": [y, y + 2], "z": [z, z + 1]}, extent)
                ranges.append((base + 1, base + boss.MAX_LABEL))
    ranges.sort()
    assert all(hi < lo for (_, hi), (lo, _) in pairwise(ranges))


@pytest.mark.parametrize(("data", "dtype", "error"), [
    pytest.param(np.array([0, 255], np.int64), "uint8", None, id="int-in-range"),
    pytest.param(np.array([0.0, 3.0]), "uint16", None, id="whole-floats"),
    pytest.param(np.array([True, False]), "uint8", None, id="bool"),
    pytest.param(np.array([2.0**63]), "uint64", None, id="big-float-uint64"),
    pytest.param(np.array([0.5, 1.0], np.float32), "uint8", r"holds fractions", id="fractions"),
    pytest.param(np.array([0, 300]), "uint8", r"from 0 to 300, which uint8 \(0 to 255\)", id="over-range"),
    pytest.param(np.array([-1, 3]), "uint16", r"from -1 to 3", id="negative"),
    pytest.param(np.array([np.nan]), "uint8", r"NaN or infinite", id="nan"),
    pytest.param(np.array([2.0**64]), "uint64", r"cannot hold", id="float-over-uint64"),
    pytest.param(np.array(["a"]), "uint8", r"dtype <U1 is not supported", id="strings"),
])
def test_cast_losslessly(data, dtype, error) -> None:
    if error is None:
        out = boss.cast_losslessly(data, np.dtype(dtype))
        assert out.dtype == dtype and (out == data).all()
    else:
        with pytest.raises(boss.BossAccessError, match=error):
            boss.cast_losslessly(data, np.dtype(dtype))


# -- pull ------------------------------------------------------------------------------------

def test_pull_with_padding_in_xyz(run, tmp_path: Path) -> None:
    status, out, err = run("pull", *CORE, "--padding", "4", "-o", "block.npy")
    assert status == 0, err
    got = np.load(tmp_path / "block.npy")
    np.testing.assert_array_equal(got, RAW[0:8, 4:28, 4:28].transpose(2, 1, 0))
    cutout = json.loads((tmp_path / "cutout.json").read_text())
    assert cutout == {"channel": "bossdb://tiles/exp/raw", "resolution": 0, "dtype": "uint8", "axes": "xyz",
                      "shape": [24, 24, 8], "box": {"x": [4, 28], "y": [4, 28], "z": [0, 8]},
                      "core": {"x": [8, 24], "y": [8, 24], "z": [2, 6]},
                      "core_in_array": {"x": [4, 20], "y": [4, 20], "z": [2, 6]}}
    core = cutout["core_in_array"]
    np.testing.assert_array_equal(got[slice(*core["x"]), slice(*core["y"]), slice(*core["z"])],
                                  RAW[2:6, 8:24, 8:24].transpose(2, 1, 0))
    assert out.splitlines() == [("pulled bossdb://tiles/exp/raw resolution 0: x [4, 28), y [4, 28), z [0, 8) "
                                 "(uint8, shape (24, 24, 8) xyz) -> block.npy")]


def test_pull_onesided_at_the_edge_in_zyx(run, tmp_path: Path) -> None:
    status, _, err = run("pull", "--xmin", "24", "--xmax", "32", "--ymin", "0", "--ymax", "8", "--zmin", "0",
                         "--zmax", "4", "--padding", "3", "--onesided", "1", "--axes", "zyx",
                         "--coord", "tiles_exp", "--dtype", "uint8", "--itype", "image")
    assert status == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "pull_output.npy"), RAW[0:7, 0:11, 24:32])
    cutout = json.loads((tmp_path / "cutout.json").read_text())
    assert cutout["box"] == {"x": [24, 32], "y": [0, 11], "z": [0, 7]}
    assert cutout["core_in_array"] == {"x": [0, 8], "y": [0, 8], "z": [0, 4]} and cutout["axes"] == "zyx"


# -- push ------------------------------------------------------------------------------------

def test_push_writes_only_the_core_and_creates_the_channel(run, server, tmp_path: Path) -> None:
    block = np.full((24, 24, 8), 9, np.int64)  # xyz, the padded box of CORE with padding 4
    block[4:20, 4:20, 2:6] = 200
    np.save(tmp_path / "in.npy", block)
    status, out, err = run("push", *CORE, "--padding", "4", "-i", str(tmp_path / "in.npy"), chan="pushed")
    assert status == 0, err
    whole = _read(server, "pushed", Box(x=(0, 32), y=(0, 32), z=(0, 8)))
    assert whole.dtype == np.uint8 and (whole[2:6, 8:24, 8:24] == 200).all()
    assert np.count_nonzero(whole) == 16 * 16 * 4  # the padding (9s) was not written
    assert json.loads((tmp_path / "push.json").read_text()) == {
        "channel": "bossdb://tiles/exp/pushed", "resolution": 0,
        "box": {"x": [8, 24], "y": [8, 24], "z": [2, 6]}, "dtype": "uint8", "voxels": 1024, "nonzero": 1024}
    assert "pushed bossdb://tiles/exp/pushed resolution 0: x [8, 24)" in out

    np.save(tmp_path / "zeros.npy", np.zeros((24, 24, 8), np.uint8))  # intern alone would skip this
    status, out, err = run("push", *CORE, "--padding", "4", "-i", str(tmp_path / "zeros.npy"), chan="pushed")
    assert status == 0, err
    assert not _read(server, "pushed", Box(x=(0, 32), y=(0, 32), z=(0, 8))).any()
    assert "1024 voxels, 0 nonzero" in out


@pytest.mark.parametrize(("array", "args", "error"), [
    pytest.param(np.zeros((16, 16, 4), np.uint8), [], r"the input array has shape \(16, 16, 4\) \(xyz\), but the "
                 r"padded box x \[4, 28\), y \[4, 28\), z \[0, 8\) has shape \(24, 24, 8\) \(xyz\)", id="shape"),
    pytest.param(np.full((24, 24, 8), 0.5), [], r"holds fractions", id="fractions"),
    pytest.param(np.full((24, 24, 8), 300), [], r"from 300 to 300, which uint8 \(0 to 255\)", id="range"),
    pytest.param(np.zeros((24, 24, 8), np.uint8), ["--dtype", "float32"],
                 r"dtype_name 'float32' is not a dtype the Boss stores \(uint8, uint16, uint64\)", id="dtype"),
    pytest.param(np.zeros((24, 24, 8), np.uint8), ["--itype", "annotation", "--dtype", "uint8"],
                 r"an annotation channel cannot hold uint8", id="itype"),
])
def test_push_refuses(run, server, tmp_path: Path, array, args, error) -> None:
    np.save(tmp_path / "in.npy", array)
    status, _, err = run("push", *CORE, "--padding", "4", "-i", str(tmp_path / "in.npy"), *args, chan="refused")
    assert status == 1 and err.count("\n") == 1
    assert err.startswith("boss_push: error: ") and re.search(error, err), err
    assert "refused" not in BossVolumes(server.url, server.token).channels("tiles", "exp")  # nothing created


def test_push_and_merge_check_an_existing_channel(run, tmp_path: Path) -> None:
    np.save(tmp_path / "in.npy", np.zeros((16, 16, 4), np.uint8))
    status, _, err = run("push", *CORE, "-i", str(tmp_path / "in.npy"), "--dtype", "uint16", "--itype", "image")
    assert status == 1 and "bossdb://tiles/exp/raw holds uint8, not uint16 (dtype_name)" in err
    status, _, err = run("merge", *CORE, "-i", str(tmp_path / "in.npy"))
    assert status == 1 and "bossdb://tiles/exp/raw is an image channel: merge writes object ids" in err


# -- merge -----------------------------------------------------------------------------------

def _block(padded_x: tuple[int, int], objects: dict[int, tuple[slice, slice, slice]]) -> np.ndarray:
    """A uint32 label block (x, y, z) over x in padded_x, all of y and z, with each label's box
    given in frame coordinates (x, y, z slices)."""
    block = np.zeros((padded_x[1] - padded_x[0], 32, 8), np.uint32)
    for label, (xs, ys, zs) in objects.items():
        block[max(xs.start - padded_x[0], 0):max(xs.stop - padded_x[0], 0), ys, zs] = label  # clipped
    return block


def test_merge_of_a_2x1_tiling_gives_one_id_per_object(run, server, tmp_path: Path) -> None:
    crossing = (slice(10, 22), slice(10, 14), slice(2, 4))  # crosses x = 16, the blocks' border
    left = _block((0, 20), {1: crossing, 2: (slice(2, 6), slice(2, 6), slice(0, 2))})
    right = _block((12, 32), {1: crossing, 2: (slice(26, 30), slice(20, 24), slice(5, 8))})
    np.save(tmp_path / "left.npy", left)
    np.save(tmp_path / "right.npy", right)
    whole = ["--ymin", "0", "--ymax", "32", "--zmin", "0", "--zmax", "8", "--padding", "4"]

    status, out, err = run("merge", "--xmin", "0", "--xmax", "16", *whole, "-i", str(tmp_path / "left.npy"),
                           chan="cells")
    assert status == 0, err
    assert out.splitlines() == ["merged: 2 labels, 0 adopted from neighbours, 2 new"]
    left_ids = dict(json.loads((tmp_path / "merge.json").read_text())["mapping"])
    assert left_ids == {1: 1, 2: 2}  # the block at the origin: block_base 0

    status, out, err = run("merge", "--xmin", "16", "--xmax", "32", *whole, "-i", str(tmp_path / "right.npy"),
                           chan="cells")
    assert status == 0, err
    assert out.splitlines() == ["merged: 2 labels, 1 adopted from neighbours, 1 new"]
    report = json.loads((tmp_path / "merge.json").read_text())
    assert report["block_base"] == 16 << 16 and dict(report["mapping"]) == {1: 1, 2: (16 << 16) + 2}

    stored = _read(server, "cells", Box(x=(0, 32), y=(0, 32), z=(0, 8)))
    assert stored.dtype == np.uint64
    assert set(np.unique(stored[2:4, 10:14, 10:22]).tolist()) == {1}  # one id across the border
    assert set(np.unique(stored).tolist()) == {0, 1, 2, (16 << 16) + 2}
    assert np.count_nonzero(stored) == 12 * 4 * 2 + 4 * 4 * 2 + 4 * 4 * 3


def test_merge_refuses_too_many_labels(run, tmp_path: Path) -> None:
    block = np.zeros((16, 16, 4), np.uint32)
    block[0, 0, 0] = 2**17
    np.save(tmp_path / "labels.npy", block)
    status, _, err = run("merge", *CORE, "-i", str(tmp_path / "labels.npy"), chan="many")
    assert status == 1 and "merge takes labels 1 to 131071 (fewer than 2**17 objects a block)" in err


# -- errors: one sentence on stderr, exit status 1, never the token --------------------------

def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(("kwargs", "args", "error"), [
    pytest.param({"token": "wrong-secret-token"}, [],
                 r"the server at http://127\.0\.0\.1:\d+ refused the token \(HTTP 401\)", id="token"),
    pytest.param({"coll": "nope"}, [], r"collection 'nope' does not exist at http://", id="collection"),
    pytest.param({"exp": "nope"}, [], r"experiment 'nope' does not exist in collection 'tiles'", id="experiment"),
    pytest.param({"chan": "nope"}, [], r"channel 'nope' does not exist in tiles/exp", id="channel"),
    pytest.param({}, ["--xmax", "40"], r"the cutout is outside the coordinate frame: x \[8, 40\) was asked "
                 r"for, but the frame's x extent at resolution 0 is \[0, 32\)", id="outside"),
    pytest.param({}, ["--dtype", "uint16"], r"bossdb://tiles/exp/raw holds uint8, not uint16 \(dtype_name\)",
                 id="dtype"),
    pytest.param({}, ["--dtype", "float32"], r"dtype_name 'float32' is not one of uint8, uint16, uint64",
                 id="unsupported-dtype"),
    pytest.param({}, ["--coord", "other"], r"uses coordinate frame 'tiles_exp', not 'other' \(coord_name\)",
                 id="coord"),
    pytest.param({}, ["--res", "1"], r"resolution 1 does not exist", id="resolution"),
    pytest.param({"host": "ftp://example.org"}, [], r"host_name 'ftp://example\.org' is neither", id="host"),
    pytest.param({"host": "http://127.0.0.1:PORT"}, [],
                 r"could not reach http://127\.0\.0\.1:\d+ after 2 tries: \[Errno 111\] Connection refused",
                 id="unreachable"),
])
def test_pull_errors(run, kwargs, args, error) -> None:
    if kwargs.get("host", "").endswith("PORT"):
        kwargs = {"host": kwargs["host"].replace("PORT", str(_closed_port()))}
    status, out, err = run("pull", *CORE, *args, **kwargs)
    assert status == 1 and out == "" and err.count("\n") == 1, (out, err)
    assert err.startswith("boss_pull: error: ") and re.search(error, err), err
    assert "Traceback" not in err and "secret" not in err


def test_push_needs_the_collection_and_experiment(run, tmp_path: Path) -> None:
    np.save(tmp_path / "in.npy", np.zeros((16, 16, 4), np.uint8))
    status, _, err = run("push", *CORE, "-i", str(tmp_path / "in.npy"), exp="missing", chan="new")
    assert status == 1 and "experiment 'missing' does not exist in collection 'tiles'" in err
