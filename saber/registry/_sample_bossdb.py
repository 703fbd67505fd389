"""The ``bossdb:`` key of a tool's expectations: a local Boss API (`saber bossdb serve`'s app) over
a fresh store for the sample job, channels ingested before the run and checked after it.

    bossdb:
      token: sample-token            # the server requires it; the job's `token` is set to it
      ingest:                        # written before the run (saber.volumes.ingest_volume)
        - {file: samples/raw.npy, channel: bossdb://saber/sample/raw}
        - {file: samples/left.npy, channel: bossdb://saber/sample/cells, dtype: uint64}
      channels:                      # read back through the server after the run
        bossdb://saber/sample/cells: {dtype: uint64, kind: annotation, labels_min: 3, nonzero_min: 10}

The job's ``host_name`` is set to the server's URL (http://127.0.0.1:PORT): the tool's container
reaches it through the host's network (NetworkAccess).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from saber.errors import InputError, SaberError

__all__ = ["SampleServer", "check_channels", "sample_server"]

_KEYS = ("token", "ingest", "channels")
_INGEST_KEYS = ("file", "channel", "dtype", "levels")
_CHECKS = ("dtype", "kind", "resolution", "box", "nonzero_min", "nonzero_max", "labels_min", "labels_max")
_DEFAULT_TOKEN = "sample-token"


@dataclass(frozen=True)
class SampleServer:
    url: str  # http://127.0.0.1:PORT
    token: str

    def volumes(self):
        from saber.volumes import BossVolumes

        return BossVolumes(self.url, self.token, tries=2, backoff_s=0.2)


def check_spec(spec: Any, file: Path) -> dict:
    """The ``bossdb:`` mapping, its keys checked (InputError naming the expectations file)."""
    if not isinstance(spec, dict):
        raise InputError("'bossdb' must be a mapping (token, ingest, channels)", file=str(file))
    _known(spec, _KEYS, "bossdb", file)
    ingest = spec.get("ingest") or []
    if not isinstance(ingest, list) or not all(isinstance(i, dict) and "file" in i and "channel" in i
                                                for i in ingest):
        raise InputError("'bossdb.ingest' must be a list of {file: ..., channel: bossdb://c/e/ch}", file=str(file))
    for item in ingest:
        _known(item, _INGEST_KEYS, "bossdb.ingest entry", file)
    channels = spec.get("channels") or {}
    if not isinstance(channels, dict) or not all(isinstance(c, dict) for c in channels.values()):
        raise InputError("'bossdb.channels' must map channel addresses to checks", file=str(file))
    for checks in channels.values():
        _known(checks, _CHECKS, "bossdb.channels check", file)
    return spec


@contextmanager
def sample_server(spec: dict, base: Path, root: Path) -> Iterator[SampleServer]:
    """Serve a fresh store at ``root`` on 127.0.0.1 with ``spec``'s channels ingested (files
    relative to ``base``) until the block ends. SaberError when ingesting fails."""
    from saber.volumes import ChannelRef, ingest_volume, load_volume_file, serving

    token = str(spec.get("token") or _DEFAULT_TOKEN)
    with serving(root, token) as url:
        server = SampleServer(url, token)
        volumes = server.volumes()
        for item in spec.get("ingest") or []:
            data = load_volume_file(base / item["file"])
            if item.get("dtype"):
                data = data.astype(item["dtype"])
            ingest_volume(volumes, ChannelRef.parse(item["channel"]), data, levels=int(item.get("levels", 1)))
        yield server


def check_channels(server: SampleServer, channels: dict) -> list[str]:
    """Problems of the channels after the run, each read back through the server."""
    from saber.volumes import Box, ChannelRef

    volumes = server.volumes()
    problems = []
    for address, checks in channels.items():
        try:
            ref = ChannelRef.parse(address)
            info = volumes.info(ref)
            resolution = int(checks.get("resolution", 0))
            box = checks.get("box")
            if box is None:
                if not 0 <= resolution < len(info.extents):
                    raise SaberError(f"no resolution level {resolution} (levels 0..{len(info.extents) - 1})")
                x, y, z = info.extents[resolution]
                box = {"x": [0, x], "y": [0, y], "z": [0, z]}
            data = volumes.read(ref, resolution, Box(**{a: tuple(box[a]) for a in "xyz"}))
        except (SaberError, KeyError, TypeError, ValueError) as e:
            problems.append(f"channel {address}: cannot read it back: {e}")
            continue
        problems += [f"channel {address}: {p}" for p in _check(info, data, checks)]
    return problems


def _check(info, data: np.ndarray, checks: dict) -> list[str]:
    out = []
    for key, actual in (("dtype", info.dtype), ("kind", info.kind)):
        if key in checks and actual != checks[key]:
            out.append(f"{key} {actual}, expected {checks[key]}")
    measured = {"nonzero": (int(np.count_nonzero(data)), "nonzero voxels"),
                "labels": (int(np.unique(data[data != 0]).size), "distinct nonzero values")}
    for name, (value, what) in measured.items():
        if f"{name}_min" in checks and value < checks[f"{name}_min"]:
            out.append(f"{value} {what}, below {name}_min {checks[f'{name}_min']}")
        if f"{name}_max" in checks and value > checks[f"{name}_max"]:
            out.append(f"{value} {what}, above {name}_max {checks[f'{name}_max']}")
    return out


def _known(mapping: dict, keys: tuple[str, ...], what: str, file: Path) -> None:
    unknown = [k for k in mapping if k not in keys]
    if unknown:
        raise InputError(f"unknown key '{unknown[0]}' in {what} (expected {', '.join(keys)})", file=str(file))
