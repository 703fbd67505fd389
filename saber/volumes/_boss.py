"""The BossDB back end: the same cutout interface through intern's ``BossRemote``.

intern's traps, handled here (design.md §10): it skips an all-zero ``create_cutout`` silently
(saber writes those with ``create_cutout_to_black``); it may hand back read-only arrays (saber
copies them); it raises ``requests.HTTPError`` whose message is the server's JSON (saber turns
it into one sentence); a server that does not answer is retried with backoff, then reported.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlparse

import numpy as np

from saber.volumes._model import DTYPES, Box, ChannelInfo, ChannelRef, VolumeError

__all__ = ["BossVolumes", "boss_config"]

T = TypeVar("T")


def boss_config(host: str | None = None, token: str | None = None) -> dict[str, str] | None:
    """intern's config dict from a host (``http://127.0.0.1:8000`` or a bare host, https) and a
    token, each falling back to ``BOSSDB_HOST`` / ``BOSSDB_TOKEN``; None when no host is known
    (intern then reads its own config file, ~/.intern/intern.cfg)."""
    host = host or os.environ.get("BOSSDB_HOST")
    if not host:
        return None
    parsed = urlparse(host if "://" in host else f"https://{host}")
    token = token if token is not None else os.environ.get("BOSSDB_TOKEN", "")
    return {"protocol": parsed.scheme, "host": parsed.netloc, "token": token or "public"}


class BossVolumes:
    """Cutouts from and to a Boss server (BossDB, or `saber bossdb serve`)."""

    def __init__(self, host: str | None = None, token: str | None = None, *, tries: int = 4,
                 backoff_s: float = 0.5) -> None:
        from intern.remote.boss import BossRemote

        config = boss_config(host, token)
        self.where = f"{config['protocol']}://{config['host']}" if config else "the host in ~/.intern/intern.cfg"
        self.remote = BossRemote(config) if config else BossRemote()
        self.tries = tries
        self.backoff_s = backoff_s

    # -- the catalogue ----------------------------------------------------------------------

    def collections(self) -> list[str]:
        return sorted(self._call("list collections", self.remote.list_collections))

    def experiments(self, collection: str) -> list[str]:
        return sorted(self._call(f"list the experiments of '{collection}'", self.remote.list_experiments, collection))

    def channels(self, collection: str, experiment: str) -> list[str]:
        return sorted(self._call(f"list the channels of '{collection}/{experiment}'",
                                 self.remote.list_channels, collection, experiment))

    def info(self, ref: ChannelRef) -> ChannelInfo:
        from intern.resource.boss.resource import (
            ChannelResource,
            CoordinateFrameResource,
            ExperimentResource,
        )

        chan = self._call(f"read {ref}", self.remote.get_project,
                          ChannelResource(ref.channel, ref.collection, ref.experiment))
        exp = self._call(f"read experiment {ref.collection}/{ref.experiment}", self.remote.get_project,
                         ExperimentResource(ref.experiment, ref.collection))
        frame = self._call(f"read coordinate frame {exp.coord_frame}", self.remote.get_project,
                           CoordinateFrameResource(exp.coord_frame))
        size = (frame.x_stop - frame.x_start, frame.y_stop - frame.y_start, frame.z_stop - frame.z_start)
        levels = max(int(exp.num_hierarchy_levels or 1), 1)
        iso = exp.hierarchy_method == "isotropic"
        # Level r halves x and y r times (and z too for isotropic experiments), rounding up.
        extents = tuple((math.ceil(size[0] / 2**r), math.ceil(size[1] / 2**r),
                         math.ceil(size[2] / 2**r) if iso else size[2]) for r in range(levels))
        return ChannelInfo(ref=ref, dtype=chan.datatype, extents=extents,
                           voxel_size=(frame.x_voxel_size, frame.y_voxel_size, frame.z_voxel_size),
                           kind=chan.type)

    # -- cutouts ----------------------------------------------------------------------------

    def read(self, ref: ChannelRef, resolution: int, box: Box) -> np.ndarray:
        info = self.info(ref)
        info.check(resolution, box)
        data = self._call(f"read a cutout of {ref}", self.remote.get_cutout, self._channel(ref, info),
                          resolution, list(box.x), list(box.y), list(box.z), parallel=False)
        # intern may return a read-only array (a view on the decompressed buffer).
        return data if data.flags.writeable else np.array(data)

    def write(self, ref: ChannelRef, resolution: int, box: Box, data: np.ndarray) -> None:
        info = self.info(ref)
        info.check(resolution, box)
        info.check_data(box, data)
        chan = self._channel(ref, info)
        ranges = (list(box.x), list(box.y), list(box.z))
        if not data.any():  # intern's create_cutout returns without a word for all zeros
            self._call(f"write zeros to {ref}", self.remote.create_cutout_to_black, chan, resolution, *ranges)
        else:
            self._call(f"write a cutout of {ref}", self.remote.create_cutout, chan, resolution, *ranges,
                       np.ascontiguousarray(data))

    def create_channel(self, ref: ChannelRef, *, size_xyz: tuple[int, int, int], dtype: str,
                       voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0), levels: int = 1,
                       kind: str = "image") -> ChannelInfo:
        """Create what is missing of collection, coordinate frame, experiment and channel."""
        from intern.resource.boss.resource import (
            ChannelResource,
            CollectionResource,
            CoordinateFrameResource,
            ExperimentResource,
        )

        if dtype not in DTYPES:
            raise VolumeError(f"dtype {dtype} is not one the Boss stores ({', '.join(DTYPES)})")
        frame = f"{ref.collection}_{ref.experiment}"
        wanted = [
            CollectionResource(ref.collection),
            CoordinateFrameResource(frame, x_start=0, x_stop=size_xyz[0], y_start=0, y_stop=size_xyz[1],
                                    z_start=0, z_stop=size_xyz[2], x_voxel_size=voxel_size[0],
                                    y_voxel_size=voxel_size[1], z_voxel_size=voxel_size[2]),
            ExperimentResource(ref.experiment, ref.collection, coord_frame=frame, num_hierarchy_levels=levels),
            ChannelResource(ref.channel, ref.collection, ref.experiment, type=kind, datatype=dtype),
        ]
        for resource in wanted:
            if not self._exists(resource):
                self._call(f"create {type(resource).__name__[:-8].lower()} {resource.name}",
                           self.remote.create_project, resource)
        return self.info(ref)

    # -- helpers ----------------------------------------------------------------------------

    def _channel(self, ref: ChannelRef, info: ChannelInfo):
        from intern.resource.boss.resource import ChannelResource

        return ChannelResource(ref.channel, ref.collection, ref.experiment, type=info.kind, datatype=info.dtype)

    def _exists(self, resource) -> bool:
        from requests import HTTPError

        try:
            self.remote.get_project(resource)
            return True
        except HTTPError as e:
            if _status(e) == 404:
                return False
            raise self._error(f"read {resource.name}", e) from e

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args)``; a server that does not answer is retried with exponential backoff."""
        from requests import ConnectionError, HTTPError, Timeout

        for attempt in range(1, self.tries + 1):
            try:
                return fn(*args, **kwargs)
            except HTTPError as e:
                raise self._error(what, e) from e
            except (ConnectionError, Timeout) as e:
                if attempt == self.tries:
                    raise VolumeError(f"cannot {what}: no answer from {self.where} after {self.tries} tries "
                                      f"({type(e).__name__})") from e
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _error(self, what: str, e: Exception) -> VolumeError:
        status = _status(e)
        if status == 401 or status == 403:
            return VolumeError(f"cannot {what}: {self.where} refused the token ({status}); check BOSSDB_TOKEN "
                               "or --token")
        return VolumeError(f"cannot {what}: {self.where} answered {status or ''} {_message(e)}".rstrip())


def _status(e: Exception) -> int | None:
    response = getattr(e, "response", None)
    if response is not None:
        return response.status_code
    text = str(e)  # intern re-raises some HTTPErrors with only a message: "... Status 404 ..."
    for code in (400, 401, 403, 404, 409, 500):
        if str(code) in text:
            return code
    return None


def _message(e: Exception) -> str:
    response = getattr(e, "response", None)
    if response is not None:
        try:
            return str(response.json().get("message", response.text))
        except ValueError:
            return response.text[:300]
    return str(e)[:300]
