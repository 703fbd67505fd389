"""What every volume back end speaks: a channel's address, a cutout's box, a channel's shape.

Arrays are always **Z, Y, X** (numpy index order ``array[z, y, x]``), as intern and the Boss
return them; boxes are given as half-open x, y, z ranges, as the Boss API takes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from saber.errors import SaberError

__all__ = ["AXES", "DTYPES", "Box", "ChannelInfo", "ChannelRef", "VolumeError"]

AXES = "zyx"  # the axis order of every array saber.volumes reads or writes
DTYPES = ("uint8", "uint16", "uint64")  # what the Boss stores (uint64: annotation channels)


class VolumeError(SaberError):
    """A cutout that cannot be served as asked: unknown channel, outside the frame, wrong dtype."""


@dataclass(frozen=True)
class ChannelRef:
    """collection / experiment / channel, as in bossdb://collection/experiment/channel."""

    collection: str
    experiment: str
    channel: str

    @classmethod
    def parse(cls, text: str) -> ChannelRef:
        """``bossdb://coll/exp/chan`` or ``coll/exp/chan``."""
        parts = text.removeprefix("bossdb://").strip("/").split("/")
        if len(parts) != 3 or not all(parts):
            raise VolumeError(f"'{text}' is not a channel address: expected bossdb://collection/experiment/channel")
        return cls(*parts)

    def __str__(self) -> str:
        return f"bossdb://{self.collection}/{self.experiment}/{self.channel}"


@dataclass(frozen=True)
class Box:
    """Half-open ranges [x0, x1) x [y0, y1) x [z0, z1) in voxels of one resolution level."""

    x: tuple[int, int]
    y: tuple[int, int]
    z: tuple[int, int]

    def __post_init__(self) -> None:
        for axis in "xyz":
            lo, hi = getattr(self, axis)
            if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (lo, hi)):
                raise VolumeError(f"{axis} range must be two integers, got {lo!r}, {hi!r}")
            if lo < 0 or hi <= lo:
                raise VolumeError(f"{axis} range [{lo}, {hi}) is empty or negative")

    @property
    def shape(self) -> tuple[int, int, int]:
        """The array shape of this box: (z, y, x)."""
        return (self.z[1] - self.z[0], self.y[1] - self.y[0], self.x[1] - self.x[0])

    def __str__(self) -> str:
        return f"x [{self.x[0]}, {self.x[1]}), y [{self.y[0]}, {self.y[1]}), z [{self.z[0]}, {self.z[1]})"


@dataclass(frozen=True)
class ChannelInfo:
    """A channel's data type and its coordinate frame at every resolution level it has."""

    ref: ChannelRef
    dtype: str
    extents: tuple[tuple[int, int, int], ...]  # per resolution level: size in x, y, z
    voxel_size: tuple[float, float, float]  # at level 0, x, y, z
    kind: str = "image"  # or "annotation"

    def check(self, resolution: int, box: Box) -> None:
        """VolumeError when the level does not exist or the box leaves the frame."""
        if not 0 <= resolution < len(self.extents):
            raise VolumeError(f"{self.ref} has resolution levels 0..{len(self.extents) - 1}, not {resolution}")
        size = self.extents[resolution]
        for axis, extent in zip("xyz", size):
            if getattr(box, axis)[1] > extent:
                raise VolumeError(f"cutout {box} is outside the coordinate frame of {self.ref} at resolution "
                                  f"{resolution} (x [0, {size[0]}), y [0, {size[1]}), z [0, {size[2]}))")

    def check_data(self, box: Box, data: np.ndarray) -> None:
        if str(data.dtype) != self.dtype:
            raise VolumeError(f"{self.ref} holds {self.dtype}, not {data.dtype}: convert the array first")
        if data.shape != box.shape:
            raise VolumeError(f"an array of shape {data.shape} does not fill the cutout {box}, whose shape "
                              f"in {AXES.upper()} order is {box.shape}")
