"""The Boss's data model (collections, coordinate frames, experiments, channels) as JSON files
beside a precomputed store, for the local Boss-API server.

``ROOT/coordinate-frames.json`` (a file, not a folder, so that the store's listing of collections
stays clean), ``ROOT/<coll>/collection.json``, ``ROOT/<coll>/<exp>/experiment.json`` and
``ROOT/<coll>/<exp>/<chan>/channel.json`` next to the channel's precomputed ``info``. Folders made
offline without these files are served with defaults.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from saber.volumes._model import DTYPES, ChannelRef
from saber.volumes._precomputed import PrecomputedStore

__all__ = ["BossHTTPError", "Catalog"]

_CREATOR = "saber"


class BossHTTPError(Exception):
    """An answer other than success, with the Boss's JSON error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Catalog:
    """The Boss's data model as JSON files beside the precomputed store."""

    def __init__(self, store: PrecomputedStore) -> None:
        self.store = store
        self.root = store.root
        self._lock = threading.Lock()  # creates check-then-write; handlers run in a thread pool

    # -- coordinate frames --------------------------------------------------------------------

    def frames(self) -> dict[str, dict]:
        path = self.root / "coordinate-frames.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def frame(self, name: str) -> dict:
        frames = self.frames()
        if name in frames:
            return frames[name]
        if offline := self._offline_frame(name):
            return offline
        raise BossHTTPError(404, f"Coordinate frame '{name}' not found")

    def _offline_frame(self, name: str) -> dict | None:
        """The frame of an experiment made offline (`saber bossdb ingest --root`), which has no
        Boss metadata: its first channel's level-0 size and voxel size, under the name
        ``<collection>_<experiment>_frame``. intern refuses an experiment whose frame is blank."""
        for coll in self.store.collections():
            for exp in self.store.experiments(coll):
                if f"{coll}_{exp}_frame" != name or (self.root / coll / exp / "experiment.json").is_file():
                    continue
                channels = self.store.channels(coll, exp)
                if not channels:
                    return None
                info = self.store.info(ChannelRef(coll, exp, channels[0]))
                return {"name": name, "description": "the frame of an experiment made offline",
                        **{f"{a}_start": 0 for a in "xyz"},
                        **{f"{a}_stop": n for a, n in zip("xyz", info.extents[0])},
                        **{f"{a}_voxel_size": v for a, v in zip("xyz", info.voxel_size)},
                        "voxel_unit": "nanometers"}
        return None

    def create_frame(self, name: str, body: dict) -> dict:
        keys = ("x_start", "x_stop", "y_start", "y_stop", "z_start", "z_stop")
        frame = {"name": name, "description": body.get("description", ""),
                 **{k: _integer(body, k, 0 if k.endswith("start") else 1) for k in keys},
                 **{f"{a}_voxel_size": float(body.get(f"{a}_voxel_size", 1)) for a in "xyz"},
                 "voxel_unit": body.get("voxel_unit", "nanometers")}
        for axis in "xyz":
            if not 0 <= frame[f"{axis}_start"] < frame[f"{axis}_stop"]:
                raise BossHTTPError(400, f"Coordinate frame '{name}': {axis}_start must be >= 0 and "
                                         f"below {axis}_stop")
        with self._lock:
            frames = self.frames()
            if name in frames:
                raise BossHTTPError(400, f"Coordinate frame '{name}' already exists")
            _write_json(self.root / "coordinate-frames.json", {**frames, name: frame})
        return frame

    # -- collections and experiments ----------------------------------------------------------

    def collection(self, coll: str) -> dict:
        folder = self.root / coll
        if not folder.is_dir():
            raise BossHTTPError(404, f"Collection '{coll}' not found")
        meta = _read_json(folder / "collection.json", {"name": coll, "description": "", "creator": _CREATOR})
        return {**meta, "experiments": self.store.experiments(coll)}

    def create_collection(self, coll: str, body: dict) -> dict:
        meta = {"name": coll, "description": body.get("description", ""), "creator": _CREATOR}
        with self._lock:
            if (self.root / coll).is_dir():
                raise BossHTTPError(400, f"Collection '{coll}' already exists")
            (self.root / coll).mkdir(parents=True)
            _write_json(self.root / coll / "collection.json", meta)
        return {**meta, "experiments": []}

    def experiment(self, coll: str, exp: str) -> dict:
        self.collection(coll)
        folder = self.root / coll / exp
        if not folder.is_dir():
            raise BossHTTPError(404, f"Experiment '{exp}' not found in collection '{coll}'")
        channels = self.store.channels(coll, exp)
        meta = _read_json(folder / "experiment.json", None) or self._offline_experiment(coll, exp, channels)
        return {**meta, "channels": channels}

    def create_experiment(self, coll: str, exp: str, body: dict) -> dict:
        self.collection(coll)
        frame = str(body.get("coord_frame", ""))
        if frame not in self.frames():
            raise BossHTTPError(400, f"Coordinate frame '{frame}' does not exist: create it first")
        levels = _integer(body, "num_hierarchy_levels", 1)
        method = body.get("hierarchy_method", "anisotropic")
        if levels < 1 or method != "anisotropic":
            # the precomputed store halves x and y only, which is the Boss's anisotropic hierarchy
            raise BossHTTPError(400, f"Experiment '{exp}': num_hierarchy_levels must be >= 1 and "
                                     f"hierarchy_method 'anisotropic' (got {levels}, '{method}')")
        meta = {"name": exp, "description": body.get("description", ""), "collection": coll,
                "coord_frame": frame, "num_hierarchy_levels": levels, "hierarchy_method": method,
                "num_time_samples": _integer(body, "num_time_samples", 1),
                "time_step": body.get("time_step", 0), "time_step_unit": body.get("time_step_unit", "seconds"),
                "creator": _CREATOR}
        with self._lock:
            if (self.root / coll / exp).is_dir():
                raise BossHTTPError(400, f"Experiment '{exp}' already exists in collection '{coll}'")
            (self.root / coll / exp).mkdir()
            _write_json(self.root / coll / exp / "experiment.json", meta)
        return {**meta, "channels": []}

    # -- channels -----------------------------------------------------------------------------

    def channel(self, ref: ChannelRef) -> dict:
        self.experiment(ref.collection, ref.experiment)
        folder = self.root / ref.collection / ref.experiment / ref.channel
        if not (folder / "info").is_file():
            raise BossHTTPError(404, f"Channel '{ref.channel}' not found in experiment "
                                     f"'{ref.collection}/{ref.experiment}'")
        info = self.store.info(ref)
        meta = _read_json(folder / "channel.json", {"description": "", "default_time_sample": 0,
                                                    "base_resolution": 0, "sources": [], "related": []})
        return {**meta, "name": ref.channel, "experiment": ref.experiment, "type": info.kind,
                "datatype": info.dtype, "creator": _CREATOR, "downsample_status": "NOT_DOWNSAMPLED"}

    def create_channel(self, ref: ChannelRef, body: dict) -> dict:
        exp = self.experiment(ref.collection, ref.experiment)
        kind, dtype = body.get("type", "image"), body.get("datatype", "uint8")
        if kind not in ("image", "annotation") or dtype not in DTYPES:
            raise BossHTTPError(400, f"Channel '{ref.channel}': type must be image or annotation and "
                                     f"datatype one of {', '.join(DTYPES)} (got '{kind}', '{dtype}')")
        frame = self.frame(exp["coord_frame"])
        with self._lock:
            if (self.root / ref.collection / ref.experiment / ref.channel).exists():
                raise BossHTTPError(400, f"Channel '{ref.channel}' already exists in experiment "
                                         f"'{ref.collection}/{ref.experiment}'")
            self.store.create_channel(ref, size_xyz=tuple(frame[f"{a}_stop"] for a in "xyz"), dtype=dtype,
                                      voxel_size=tuple(frame[f"{a}_voxel_size"] for a in "xyz"),
                                      levels=exp["num_hierarchy_levels"], kind=kind)
            _write_json(self.root / ref.collection / ref.experiment / ref.channel / "channel.json",
                        {"description": body.get("description", ""),
                         "default_time_sample": body.get("default_time_sample", 0),
                         "base_resolution": body.get("base_resolution", 0),
                         "sources": body.get("sources", []), "related": body.get("related", [])})
        return self.channel(ref)

    def frame_of(self, ref: ChannelRef) -> dict | None:
        """The channel's coordinate frame, or None for a channel made offline (its info decides)."""
        exp = self.experiment(ref.collection, ref.experiment)
        return self.frames().get(exp["coord_frame"])

    def _offline_experiment(self, coll: str, exp: str, channels: list[str]) -> dict:
        levels = len(self.store.info(ChannelRef(coll, exp, channels[0])).extents) if channels else 1
        return {"name": exp, "description": "", "collection": coll, "coord_frame": f"{coll}_{exp}_frame",
                "num_hierarchy_levels": levels, "hierarchy_method": "anisotropic", "num_time_samples": 1,
                "time_step": 0, "time_step_unit": "seconds", "creator": _CREATOR}


def _integer(body: dict, key: str, default: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BossHTTPError(400, f"{key} must be an integer, got {value!r}")
    return value


def _read_json(path: Path, default):
    return json.loads(path.read_text()) if path.is_file() else default


def _write_json(path: Path, data: dict) -> None:
    # write-then-rename: a reader never sees half a file
    tmp = path.with_name(f".{path.name}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)
