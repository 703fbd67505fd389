"""Whole volumes in and out of the offline store, from .npy and .tif files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from saber.volumes import (
    Box,
    ChannelRef,
    PrecomputedStore,
    VolumeError,
    boss_config,
    export_volume,
    ingest_volume,
    load_volume_file,
    open_volumes,
)

REF = ChannelRef("lab", "mouse1", "em")


def test_ingest_then_export_npy_and_tif(tmp_path: Path) -> None:
    store = PrecomputedStore(tmp_path / "store")
    data = np.random.default_rng(1).integers(0, 60000, size=(5, 30, 40), dtype=np.uint16)
    np.save(tmp_path / "in.npy", data)
    info = ingest_volume(store, REF, load_volume_file(tmp_path / "in.npy"), voxel_size=(4, 4, 40))
    assert (info.dtype, info.extents) == ("uint16", ((40, 30, 5),))
    export_volume(store, REF, tmp_path / "out.npy")
    assert (np.load(tmp_path / "out.npy") == data).all()
    part = export_volume(store, REF, tmp_path / "part.tif", box=Box(x=(10, 20), y=(0, 5), z=(1, 2)))
    assert part.shape == (1, 5, 10) and (tifffile.imread(tmp_path / "part.tif") == data[1:2, 0:5, 10:20]).all()
    # a second ingest into the same channel overwrites (the frame is kept)
    ingest_volume(store, REF, np.zeros_like(data))
    assert store.read(REF, 0, Box(x=(0, 40), y=(0, 30), z=(0, 5))).sum() == 0


def test_tif_slices_and_bad_files(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "slice.tif", np.ones((8, 9), np.uint8))
    assert load_volume_file(tmp_path / "slice.tif").shape == (1, 8, 9)
    np.save(tmp_path / "f.npy", np.zeros((2, 2, 2), np.float32))
    with pytest.raises(VolumeError, match=r"f.npy: dtype float32 is not one the Boss stores"):
        load_volume_file(tmp_path / "f.npy")
    np.save(tmp_path / "4d.npy", np.zeros((2, 2, 2, 2), np.uint8))
    with pytest.raises(VolumeError, match=r"must be 3-D \(Z, Y, X\), this array has shape \(2, 2, 2, 2\)"):
        load_volume_file(tmp_path / "4d.npy")
    with pytest.raises(VolumeError, match=r"no such file"):
        load_volume_file(tmp_path / "missing.npy")


def test_conversion_on_load_keeps_every_value(tmp_path: Path) -> None:
    np.save(tmp_path / "labels.npy", np.array([0, 1, 65535], np.uint16).reshape(1, 1, 3))
    labels = load_volume_file(tmp_path / "labels.npy", "uint64")
    assert labels.dtype == np.uint64 and labels.ravel().tolist() == [0, 1, 65535]
    with pytest.raises(VolumeError, match=r"labels.npy: its uint16 values do not all fit uint8 \(range 0..65535"):
        load_volume_file(tmp_path / "labels.npy", "uint8")
    np.save(tmp_path / "f.npy", np.array([0.0, 2.0, 3.5]).reshape(1, 1, 3))
    with pytest.raises(VolumeError, match="do not all fit uint16"):
        load_volume_file(tmp_path / "f.npy", "uint16")
    np.save(tmp_path / "n.npy", np.array([-1, 2], np.int32).reshape(1, 1, 2))
    with pytest.raises(VolumeError, match="do not all fit uint64"):
        load_volume_file(tmp_path / "n.npy", "uint64")


def test_back_end_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOSSDB_HOST", raising=False)
    monkeypatch.setenv("SABER_VOLUMES", str(tmp_path / "v"))
    store = open_volumes()
    assert isinstance(store, PrecomputedStore) and store.root == tmp_path / "v"
    assert boss_config("http://127.0.0.1:8000", "t") == {"protocol": "http", "host": "127.0.0.1:8000", "token": "t"}
    monkeypatch.setenv("BOSSDB_TOKEN", "from-env")
    assert boss_config("api.bossdb.io") == {"protocol": "https", "host": "api.bossdb.io", "token": "from-env"}
    assert boss_config(None) is None


def test_a_server_that_does_not_answer(unused_port: int) -> None:
    from saber.volumes import BossVolumes

    volumes = BossVolumes(f"http://127.0.0.1:{unused_port}", "t", tries=3, backoff_s=0.01)
    with pytest.raises(VolumeError, match=rf"cannot list collections: no answer from http://127.0.0.1:{unused_port} "
                                          r"after 3 tries \(ConnectionError\)"):
        volumes.collections()


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
