"""saber's BossDB back end (intern's BossRemote underneath) against `saber bossdb serve`."""

from __future__ import annotations

import numpy as np
import pytest

from saber.volumes import BossVolumes, Box, ChannelRef, PrecomputedStore, VolumeError, export_volume, ingest_volume

REF = ChannelRef("backend", "exp1", "em")


def test_create_write_read_and_zeros(boss_server) -> None:
    volumes = BossVolumes(boss_server.url, boss_server.token)
    info = volumes.create_channel(REF, size_xyz=(40, 30, 6), dtype="uint16", voxel_size=(4, 4, 40), levels=2)
    assert (info.dtype, info.extents, info.voxel_size) == ("uint16", ((40, 30, 6), (20, 15, 6)), (4, 4, 40))
    box = Box(x=(3, 10), y=(0, 5), z=(1, 4))
    data = np.arange(3 * 5 * 7, dtype=np.uint16).reshape(3, 5, 7) + 1
    volumes.write(REF, 0, box, data)
    got = volumes.read(REF, 0, box)
    assert (got == data).all() and got.flags.writeable  # intern's array is read-only: copied
    # the same store, offline: one data layer for both back ends
    assert (PrecomputedStore(boss_server.root).read(REF, 0, box) == data).all()
    volumes.write(REF, 0, box, np.zeros_like(data))  # intern alone would silently skip this
    assert volumes.read(REF, 0, box).sum() == 0
    assert REF.channel in volumes.channels(REF.collection, REF.experiment)
    # creating again adds nothing and keeps the data's frame
    assert volumes.create_channel(REF, size_xyz=(40, 30, 6), dtype="uint16").extents[0] == (40, 30, 6)


def test_ingest_and_export_through_the_server(boss_server, tmp_path) -> None:
    volumes = BossVolumes(boss_server.url, boss_server.token)
    ref = ChannelRef("backend", "exp2", "raw")
    data = np.random.default_rng(0).integers(0, 255, size=(4, 16, 24), dtype=np.uint8)
    ingest_volume(volumes, ref, data)
    export_volume(volumes, ref, tmp_path / "back.npy")
    assert (np.load(tmp_path / "back.npy") == data).all()


def test_errors_are_one_sentence(boss_server) -> None:
    bad = BossVolumes(boss_server.url, "wrong-token")
    with pytest.raises(VolumeError, match=r"refused the token \(401\); check BOSSDB_TOKEN or --token"):
        bad.collections()
    volumes = BossVolumes(boss_server.url, boss_server.token)
    with pytest.raises(VolumeError, match=r"cannot read bossdb://backend/nope/em: .* answered 404 .*nope"):
        volumes.info(ChannelRef("backend", "nope", "em"))
    volumes.create_channel(ChannelRef("backend", "exp3", "em"), size_xyz=(8, 8, 2), dtype="uint8")
    with pytest.raises(VolumeError, match=r"outside the coordinate frame"):
        volumes.read(ChannelRef("backend", "exp3", "em"), 0, Box(x=(0, 9), y=(0, 8), z=(0, 2)))
    with pytest.raises(VolumeError, match=r"holds uint8, not uint16"):
        volumes.write(ChannelRef("backend", "exp3", "em"), 0, Box(x=(0, 8), y=(0, 8), z=(0, 2)),
                      np.ones((2, 8, 8), np.uint16))


def test_ingest_and_export_commands(boss_server, tmp_path) -> None:
    from saber_testing import run_saber

    data = np.random.default_rng(3).integers(0, 60000, size=(3, 10, 12), dtype=np.uint16)
    np.save(tmp_path / "v.npy", data)
    where = ["--host", boss_server.url, "--token", boss_server.token]
    done = run_saber("bossdb", "ingest", str(tmp_path / "v.npy"), "bossdb://cli/exp/raw", *where)
    assert done.returncode == 0, done.stderr
    done = run_saber("bossdb", "export", "bossdb://cli/exp/raw", str(tmp_path / "out.npy"), *where,
                     "--x", "2:12", "--y", "0:10", "--z", "1:3")
    assert done.returncode == 0, done.stderr
    assert (np.load(tmp_path / "out.npy") == data[1:3, :, 2:12]).all()
    refused = run_saber("bossdb", "export", "bossdb://cli/exp/raw", str(tmp_path / "x.npy"),
                        "--host", boss_server.url, "--token", "nope")
    assert refused.returncode == 2 and "refused the token (401)" in refused.stderr
