"""The offline volume back end on a real precomputed store (tensorstore on tmp_path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from saber.volumes import Box, ChannelRef, PrecomputedStore, VolumeError

REF = ChannelRef("coll", "exp", "raw")


@pytest.fixture
def store(tmp_path: Path) -> PrecomputedStore:
    store = PrecomputedStore(tmp_path / "store")
    store.create_channel(REF, size_xyz=(100, 80, 12), dtype="uint8", voxel_size=(4, 4, 40), levels=2)
    return store


def test_round_trip_in_zyx_order(store: PrecomputedStore) -> None:
    box = Box(x=(10, 30), y=(5, 25), z=(2, 6))
    data = np.arange(4 * 20 * 20, dtype=np.uint8).reshape(4, 20, 20)
    store.write(REF, 0, box, data)
    got = store.read(REF, 0, box)
    assert got.shape == (4, 20, 20) and (got == data).all() and got.flags.writeable
    # z, y, x: the voxel at x=10, y=5, z=2 is data[0, 0, 0]; at x=11 it is data[0, 0, 1]
    assert store.read(REF, 0, Box(x=(11, 12), y=(5, 6), z=(2, 3)))[0, 0, 0] == data[0, 0, 1]
    assert store.read(REF, 0, Box(x=(0, 10), y=(0, 5), z=(0, 2))).sum() == 0  # unwritten is 0


def test_all_zero_writes_are_written(store: PrecomputedStore) -> None:
    box = Box(x=(0, 8), y=(0, 8), z=(0, 2))
    store.write(REF, 0, box, np.full(box.shape, 7, np.uint8))
    store.write(REF, 0, box, np.zeros(box.shape, np.uint8))
    assert store.read(REF, 0, box).sum() == 0


def test_resolution_levels_halve_x_and_y(store: PrecomputedStore) -> None:
    info = store.info(REF)
    assert info.extents == ((100, 80, 12), (50, 40, 12)) and info.dtype == "uint8"
    assert info.voxel_size == (4, 4, 40)
    store.write(REF, 1, Box(x=(0, 50), y=(0, 40), z=(0, 1)), np.ones((1, 40, 50), np.uint8))
    with pytest.raises(VolumeError, match=r"outside the coordinate frame of bossdb://coll/exp/raw at resolution 1"):
        store.read(REF, 1, Box(x=(0, 51), y=(0, 40), z=(0, 1)))
    with pytest.raises(VolumeError, match=r"has resolution levels 0..1, not 2"):
        store.read(REF, 2, Box(x=(0, 1), y=(0, 1), z=(0, 1)))


def test_catalogue_and_unknown_names(store: PrecomputedStore) -> None:
    assert (store.collections(), store.experiments("coll"), store.channels("coll", "exp")) == (
        ["coll"], ["exp"], ["raw"])
    with pytest.raises(VolumeError, match=r"no collection 'nope' \(there: coll\)"):
        store.info(ChannelRef("nope", "exp", "raw"))
    with pytest.raises(VolumeError, match=r"no experiment 'coll/x' \(there: exp\)"):
        store.info(ChannelRef("coll", "x", "raw"))
    with pytest.raises(VolumeError, match=r"no channel 'seg' in coll/exp \(channels: raw\)"):
        store.info(ChannelRef("coll", "exp", "seg"))


def test_wrong_dtype_and_shape(store: PrecomputedStore) -> None:
    box = Box(x=(0, 4), y=(0, 4), z=(0, 1))
    with pytest.raises(VolumeError, match=r"holds uint8, not uint16: convert the array first"):
        store.write(REF, 0, box, np.zeros(box.shape, np.uint16))
    with pytest.raises(VolumeError, match=r"shape \(4, 4, 1\) does not fill the cutout .* ZYX order is \(1, 4, 4\)"):
        store.write(REF, 0, box, np.zeros((4, 4, 1), np.uint8))
    with pytest.raises(VolumeError, match=r"dtype float32 is not one the Boss stores"):
        store.create_channel(ChannelRef("coll", "exp", "f"), size_xyz=(4, 4, 4), dtype="float32")
    with pytest.raises(VolumeError, match=r"x range \[5, 5\) is empty"):
        Box(x=(5, 5), y=(0, 1), z=(0, 1))


def test_channel_addresses() -> None:
    assert ChannelRef.parse("bossdb://a/b/c") == ChannelRef("a", "b", "c") == ChannelRef.parse("a/b/c")
    assert str(ChannelRef("a", "b", "c")) == "bossdb://a/b/c"
    with pytest.raises(VolumeError, match="expected bossdb://collection/experiment/channel"):
        ChannelRef.parse("bossdb://a/b")
