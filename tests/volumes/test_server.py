"""The local Boss-API server, driven by the unmodified intern client, over a precomputed store."""

from __future__ import annotations

from pathlib import Path

import blosc
import numpy as np
import pytest
import requests
from intern.resource.boss.resource import (ChannelResource, CollectionResource, CoordinateFrameResource,
                                           ExperimentResource)
from requests import HTTPError

from saber.volumes import Box, ChannelRef, PrecomputedStore

FRAME = {"x_stop": 100, "y_stop": 80, "z_stop": 12, "x_voxel_size": 4, "y_voxel_size": 4, "z_voxel_size": 40}
CHANNELS = {"raw": ("image", "uint8"), "raw16": ("image", "uint16"), "seg": ("annotation", "uint64")}


@pytest.fixture(scope="module")
def remote(boss_server):
    """coll/exp (2 levels, frame 100 x 80 x 12) with one channel per data type."""
    remote = boss_server.remote()
    remote.create_project(CollectionResource("coll", "test collection"))
    remote.create_project(CoordinateFrameResource("frame", **FRAME))
    remote.create_project(ExperimentResource("exp", "coll", coord_frame="frame", num_hierarchy_levels=2))
    for name, (kind, dtype) in CHANNELS.items():
        remote.create_project(ChannelResource(name, "coll", "exp", type=kind, datatype=dtype))
    return remote


def _status(error: pytest.ExceptionInfo) -> int:
    return error.value.response.status_code


def test_created_resources_read_back(remote) -> None:
    assert remote.list_collections() == ["coll"]
    assert remote.list_coordinate_frames() == ["frame"]
    assert remote.list_experiments("coll") == ["exp"]
    assert remote.list_channels("coll", "exp") == sorted(CHANNELS)
    frame = remote.get_coordinate_frame("frame")
    assert (frame.x_stop, frame.y_stop, frame.z_stop, frame.z_voxel_size) == (100, 80, 12, 40)
    exp = remote.get_experiment("coll", "exp")
    assert (exp.coord_frame, exp.num_hierarchy_levels) == ("frame", 2)
    seg = remote.get_channel("seg", "coll", "exp")
    assert (seg.type, seg.datatype, seg.cutout_ready) == ("annotation", "uint64", True)
    assert remote.get_project(CollectionResource("coll")).description == "test collection"


@pytest.mark.parametrize("resource", [
    pytest.param(CollectionResource("coll"), id="collection"),
    pytest.param(CoordinateFrameResource("frame", **FRAME), id="frame"),
    pytest.param(ExperimentResource("exp", "coll", coord_frame="frame"), id="experiment"),
    pytest.param(ChannelResource("raw", "coll", "exp", datatype="uint8"), id="channel"),
])
def test_creating_an_existing_resource_is_a_400(remote, resource) -> None:
    with pytest.raises(HTTPError, match="already exists") as e:
        remote.create_project(resource)
    assert _status(e) == 400


def test_create_answers_201_with_the_resource(tmp_path: Path, serve_boss) -> None:
    with serve_boss(tmp_path, token="t") as server:
        resp = requests.post(f"{server.url}/v1/collection/other/", json={"name": "other", "description": "d"},
                             headers={"Authorization": "Token t"})
        assert resp.status_code == 201
        assert resp.json() == {"name": "other", "description": "d", "creator": "saber", "experiments": []}
        assert server.remote().list_collections() == ["other"]


@pytest.mark.parametrize("channel", ["raw", "raw16", "seg"])
def test_cutout_round_trip_in_zyx_order(boss_server, remote, channel: str) -> None:
    chan = remote.get_channel(channel, "coll", "exp")
    data = (np.arange(3 * 5 * 7) + 1).astype(chan.datatype).reshape(3, 5, 7)  # z 3, y 5, x 7: asymmetric
    remote.create_cutout(chan, 0, [10, 17], [20, 25], [4, 7], data)
    got = remote.get_cutout(chan, 0, [10, 17], [20, 25], [4, 7])
    assert got.dtype == data.dtype and got.shape == (3, 5, 7) and (got == data).all()
    # the voxel x=11, y=20, z=4 is data[0, 0, 1]
    assert remote.get_cutout(chan, 0, [11, 12], [20, 21], [4, 5])[0, 0, 0] == data[0, 0, 1]
    assert not got.flags.writeable  # intern's trap: np.frombuffer over the response bytes
    # one store: the offline back end reads what the server wrote
    stored = PrecomputedStore(boss_server.root).read(ChannelRef("coll", "exp", channel), 0,
                                                     Box(x=(10, 17), y=(20, 25), z=(4, 7)))
    assert (stored == data).all()


def test_all_zero_cutouts_overwrite(boss_server, remote) -> None:
    chan = remote.get_channel("raw", "coll", "exp")
    ranges = ([0, 8], [0, 6], [0, 2])
    remote.create_cutout(chan, 0, *ranges, np.full((2, 6, 8), 9, np.uint8))
    remote.create_cutout(chan, 0, *ranges, np.zeros((2, 6, 8), np.uint8))
    # intern's trap: create_cutout returns without a request when the array sums to 0
    assert (remote.get_cutout(chan, 0, *ranges) == 9).all()
    # the server itself writes whatever it receives, all-zero included
    resp = requests.post(f"{boss_server.url}/v1/cutout/coll/exp/raw/0/0:8/0:6/0:2/",
                         data=blosc.compress(np.zeros((2, 6, 8), np.uint8).tobytes(), typesize=1),
                         headers={"Authorization": f"Token {boss_server.token}",
                                  "Content-Type": "application/blosc"})
    assert resp.status_code == 201
    assert remote.get_cutout(chan, 0, *ranges).sum() == 0


def test_lower_resolution_levels_have_halved_frames(remote) -> None:
    chan = remote.get_channel("raw", "coll", "exp")
    data = np.full((2, 40, 50), 3, np.uint8)  # level 1 of 100 x 80: x 50, y 40
    remote.create_cutout(chan, 1, [0, 50], [0, 40], [0, 2], data)
    assert (remote.get_cutout(chan, 1, [0, 50], [0, 40], [0, 2]) == 3).all()
    with pytest.raises(HTTPError, match="outside the coordinate frame") as e:
        remote.get_cutout(chan, 1, [0, 51], [0, 40], [0, 2])
    assert _status(e) == 400


@pytest.mark.parametrize("call, message", [
    pytest.param(lambda r, c: r.get_cutout(c, 0, [90, 101], [0, 8], [0, 1]), "outside the coordinate frame",
                 id="get-x-beyond"),
    pytest.param(lambda r, c: r.create_cutout(c, 0, [0, 8], [0, 8], [11, 13], np.ones((2, 8, 8), np.uint8)),
                 "outside the coordinate frame", id="create-z-beyond"),
    pytest.param(lambda r, c: r.get_cutout(c, 2, [0, 8], [0, 8], [0, 1]), "resolution levels 0..1",
                 id="no-such-level"),
    pytest.param(lambda r, c: r.create_cutout(c, 0, [0, 8], [0, 8], [0, 1], np.ones((1, 8, 8), np.uint16)),
                 "holds 128 bytes, but .* of uint8 needs 64", id="wrong-dtype"),
    pytest.param(lambda r, c: r.create_cutout(c, 0, [0, 8], [0, 8], [0, 1], np.ones((1, 4, 8), np.uint8)),
                 "holds 32 bytes", id="wrong-shape"),
])
def test_bad_cutouts_are_400(remote, call, message: str) -> None:
    with pytest.raises(HTTPError, match=message) as e:
        call(remote, remote.get_channel("raw", "coll", "exp"))
    assert _status(e) == 400


@pytest.mark.parametrize("call, message", [
    pytest.param(lambda r: r.get_cutout(ChannelResource("nope", "coll", "exp", datatype="uint8"), 0,
                                        [0, 1], [0, 1], [0, 1]),
                 "Channel 'nope' not found in experiment 'coll/exp'", id="cutout-unknown-channel"),
    pytest.param(lambda r: r.get_channel("nope", "coll", "exp"), "Channel 'nope' not found", id="channel"),
    pytest.param(lambda r: r.get_experiment("coll", "nope"), "Experiment 'nope' not found", id="experiment"),
    pytest.param(lambda r: r.list_experiments("nope"), "Collection 'nope' not found", id="collection"),
    pytest.param(lambda r: r.get_coordinate_frame("nope"), "Coordinate frame 'nope' not found", id="frame"),
])
def test_unknown_resources_are_404(remote, call, message: str) -> None:
    with pytest.raises(HTTPError, match=message) as e:
        call(remote)
    assert _status(e) == 404


@pytest.mark.parametrize("token", ["wrong", ""])
def test_a_bad_token_is_401(boss_server, remote, token: str) -> None:
    with pytest.raises(HTTPError, match="Invalid token") as e:
        boss_server.remote(token=token).list_collections()
    assert _status(e) == 401


@pytest.mark.parametrize("method, path, kwargs, status, message", [
    pytest.param("GET", "/v1/nothing/", {}, 404, "No such endpoint", id="unknown-service"),
    pytest.param("GET", "/v1/collection/coll/channel/", {}, 404, "No such endpoint", id="wrong-nesting"),
    pytest.param("POST", "/v1/collection/", {"json": {}}, 405, "not allowed on the list", id="post-a-list"),
    pytest.param("POST", "/v1/collection/.hidden/", {"json": {}}, 400, "not a valid name", id="bad-name"),
    pytest.param("POST", "/v1/cutout/coll/exp/raw/0/0:2/0:2/0:1/", {"data": b"x" * 4}, 415, "application/blosc",
                 id="not-blosc"),
    pytest.param("POST", "/v1/cutout/coll/exp/raw/0/0:2/0:2/0:1/",
                 {"data": b"not blosc", "headers": {"Content-Type": "application/blosc"}}, 400,
                 "not a blosc buffer", id="corrupt-blosc"),
    pytest.param("GET", "/v1/cutout/coll/exp/raw/0/0:2/0:2/", {}, 400, "a cutout URL is", id="no-z-range"),
    pytest.param("GET", "/v1/cutout/coll/exp/raw/0/0:2/0:2/0:1/1:2/", {}, 400, "one time sample", id="time"),
])
def test_malformed_requests(boss_server, remote, method: str, path: str, kwargs: dict, status: int,
                            message: str) -> None:
    kwargs = {**kwargs, "headers": {"Authorization": f"Token {boss_server.token}", **kwargs.get("headers", {})}}
    resp = requests.request(method, boss_server.url + path, **kwargs)
    assert resp.status_code == status and message in resp.json()["message"]


def test_no_authorization_header_is_401(boss_server) -> None:
    resp = requests.get(f"{boss_server.url}/v1/collection/")
    assert resp.status_code == 401 and resp.json()["message"].startswith("Invalid token")


def test_without_a_token_the_server_is_open_and_serves_offline_channels(tmp_path: Path, serve_boss) -> None:
    store = PrecomputedStore(tmp_path)
    ref = ChannelRef("offline", "exp", "raw")
    store.create_channel(ref, size_xyz=(16, 16, 4), dtype="uint16", levels=1)
    store.write(ref, 0, Box(x=(0, 4), y=(0, 3), z=(0, 2)), np.arange(24, dtype=np.uint16).reshape(2, 3, 4))
    with serve_boss(tmp_path, token=None) as server:
        remote = server.remote(token="anything")
        assert remote.list_collections() == ["offline"]
        chan = remote.get_channel("raw", "offline", "exp")
        assert chan.datatype == "uint16"
        got = remote.get_cutout(chan, 0, [0, 4], [0, 3], [0, 2])
        assert (got == np.arange(24).reshape(2, 3, 4)).all()
        # intern refuses a blank frame: an offline experiment has one, from its first channel
        exp = remote.get_experiment("offline", "exp")
        frame = remote.get_coordinate_frame(exp.coord_frame)
        assert (exp.coord_frame, frame.x_stop, frame.y_stop, frame.z_stop) == ("offline_exp_frame", 16, 16, 4)
        # and new channels of it take that frame's size
        remote.create_project(ChannelResource("more", "offline", "exp", type="annotation", datatype="uint64"))
        assert store.info(ChannelRef("offline", "exp", "more")).extents[0] == (16, 16, 4)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("given", ["env", "file", "argv"])
def test_cli_serves_with_a_token_kept_off_its_command_line(tmp_path: Path, given: str) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    token = f"{given}-token-5f0c"
    port = _free_port()
    argv, env = ["--port", str(port)], {k: v for k, v in os.environ.items() if k != "BOSSDB_TOKEN"}
    if given == "env":
        env["BOSSDB_TOKEN"] = token
    elif given == "file":
        (tmp_path / "token").write_text(token + "\n")
        argv += ["--token-file", str(tmp_path / "token")]
    else:
        argv += ["--token", token]
    saber = Path(sys.executable).with_name("saber")  # the installed console script
    proc = subprocess.Popen([str(saber), "bossdb", "serve", "--root", str(tmp_path / "db"), *argv],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert f"http://127.0.0.1:{port}/v1/" in proc.stdout.readline()
        deadline = time.monotonic() + 30
        while True:
            try:
                resp = requests.get(f"http://127.0.0.1:{port}/v1/collection/",
                                    headers={"Authorization": f"Token {token}"}, timeout=2)
                break
            except requests.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        assert resp.status_code == 200 and resp.json() == {"collections": []}
        assert requests.get(f"http://127.0.0.1:{port}/v1/collection/", timeout=2).status_code == 401
        # What every local user sees in `ps`: the token only where it was given as an argument.
        shown = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode()
        assert (token in shown) == (given == "argv")
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    warned = "warning: --token is visible to every local user" in proc.stderr.read()
    assert warned == (given == "argv")


@pytest.mark.parametrize("content, message", [
    pytest.param(None, r"--token-file .*token: cannot read it \(No such file or directory\)", id="missing"),
    pytest.param(" \n", r"--token-file .*token is empty", id="empty"),
])
def test_a_token_file_that_gives_no_token_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     content: str | None, message: str) -> None:
    import re

    from saber.cli import main

    if content is not None:
        (tmp_path / "token").write_text(content)
    assert main(["bossdb", "serve", "--root", str(tmp_path / "db"), "--token-file", str(tmp_path / "token")]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "db").exists()  # refused before anything was made
