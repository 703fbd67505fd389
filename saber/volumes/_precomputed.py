"""The offline back end: channels as Neuroglancer-precomputed volumes on disk (BossDB's own open
data format), through tensorstore. ``ROOT/<collection>/<experiment>/<channel>/info`` plus one
chunk folder per resolution level."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from saber.volumes._model import DTYPES, Box, ChannelInfo, ChannelRef, VolumeError

__all__ = ["PrecomputedStore"]


class PrecomputedStore:
    """Cutouts from and to precomputed volumes under ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._open: dict[tuple[ChannelRef, int], object] = {}  # opened tensorstores, reused

    # -- the catalogue ----------------------------------------------------------------------

    def collections(self) -> list[str]:
        return _folders(self.root)

    def experiments(self, collection: str) -> list[str]:
        return _folders(self._known(self.root / collection, f"collection '{collection}'"))

    def channels(self, collection: str, experiment: str) -> list[str]:
        where = self._known(self.root / collection / experiment, f"experiment '{collection}/{experiment}'")
        return [c for c in _folders(where) if (where / c / "info").is_file()]

    def info(self, ref: ChannelRef) -> ChannelInfo:
        path = self._known(self.root / ref.collection, f"collection '{ref.collection}'")
        path = self._known(path / ref.experiment, f"experiment '{ref.collection}/{ref.experiment}'")
        info_file = path / ref.channel / "info"
        if not info_file.is_file():
            raise VolumeError(f"no channel '{ref.channel}' in {ref.collection}/{ref.experiment} "
                              f"(channels: {', '.join(self.channels(ref.collection, ref.experiment)) or 'none'})")
        meta = json.loads(info_file.read_text())
        scales = meta["scales"]
        return ChannelInfo(ref=ref, dtype=meta["data_type"], extents=tuple(tuple(s["size"]) for s in scales),
                           voxel_size=tuple(scales[0]["resolution"]),
                           kind="annotation" if meta.get("type") == "segmentation" else "image")

    def create_channel(self, ref: ChannelRef, *, size_xyz: tuple[int, int, int], dtype: str,
                       voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0), levels: int = 1,
                       chunk_xyz: tuple[int, int, int] = (64, 64, 16), kind: str = "image") -> ChannelInfo:
        """A new, empty channel; level r is downsampled by 2**r in x and y (the Boss's default)."""
        import tensorstore as ts

        if dtype not in DTYPES:
            raise VolumeError(f"dtype {dtype} is not one the Boss stores ({', '.join(DTYPES)})")
        if (self.root / ref.collection / ref.experiment / ref.channel / "info").exists():
            raise VolumeError(f"{ref} already exists")
        for level in range(levels):
            factor = 2 ** level
            size = [math.ceil(size_xyz[0] / factor), math.ceil(size_xyz[1] / factor), size_xyz[2]]
            ts.open({**self._spec(ref), "create": True, "open": level > 0,
                     "multiscale_metadata": {"data_type": dtype, "num_channels": 1,
                                             "type": "segmentation" if kind == "annotation" else "image"},
                     "scale_metadata": {"resolution": [voxel_size[0] * factor, voxel_size[1] * factor,
                                                       voxel_size[2]],
                                        "encoding": "raw",
                                        "chunk_size": list(chunk_xyz), "size": size,
                                        "voxel_offset": [0, 0, 0]}}).result()
        return self.info(ref)

    # -- cutouts ----------------------------------------------------------------------------

    def read(self, ref: ChannelRef, resolution: int, box: Box) -> np.ndarray:
        """The cutout as a new, writable Z, Y, X array."""
        self.info(ref).check(resolution, box)
        # The transposed view reads straight into a C-ordered Z, Y, X array (a numpy transpose
        # and copy afterwards costs as much again as the read).
        return self._view(ref, resolution, box).read(order="C").result()

    def write(self, ref: ChannelRef, resolution: int, box: Box, data: np.ndarray) -> None:
        """Write a Z, Y, X array into the box (all-zero arrays too: they overwrite)."""
        info = self.info(ref)
        info.check(resolution, box)
        info.check_data(box, data)
        self._view(ref, resolution, box).write(data).result()

    # -- helpers ----------------------------------------------------------------------------

    def _spec(self, ref: ChannelRef) -> dict:
        path = self.root / ref.collection / ref.experiment / ref.channel
        return {"driver": "neuroglancer_precomputed", "kvstore": {"driver": "file", "path": f"{path}/"}}

    def _view(self, ref: ChannelRef, resolution: int, box: Box):
        """The box of the channel as a Z, Y, X view (the volume itself is X, Y, Z, channel)."""
        return self._store(ref, resolution)[box.x[0]:box.x[1], box.y[0]:box.y[1], box.z[0]:box.z[1], 0].T

    def _store(self, ref: ChannelRef, resolution: int):
        import tensorstore as ts

        key = (ref, resolution)
        if key not in self._open:
            self._open[key] = ts.open({**self._spec(ref), "scale_index": resolution}).result()
        return self._open[key]

    @staticmethod
    def _known(path: Path, what: str) -> Path:
        if not path.is_dir():
            siblings = ", ".join(_folders(path.parent)) or "none"
            raise VolumeError(f"no {what} (there: {siblings})")
        return path


def _folders(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")) if path.is_dir() else []
