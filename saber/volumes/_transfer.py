"""Moving whole volumes in and out: which back end a command talks to, and files <-> channels."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from saber.volumes._model import DTYPES, Box, ChannelInfo, ChannelRef, VolumeError

__all__ = ["default_root", "export_volume", "ingest_volume", "load_volume_file", "open_volumes"]


def default_root() -> Path:
    """The offline store: $SABER_VOLUMES, else $SABER_HOME/volumes."""
    if root := os.environ.get("SABER_VOLUMES"):
        return Path(root)
    return Path(os.environ.get("SABER_HOME", Path.home() / ".saber")) / "volumes"


def open_volumes(host: str | None = None, token: str | None = None, root: str | Path | None = None):
    """A Boss server when a host is given (or BOSSDB_HOST is set), else the offline store."""
    if host or os.environ.get("BOSSDB_HOST"):
        from saber.volumes._boss import BossVolumes

        return BossVolumes(host, token)
    from saber.volumes._precomputed import PrecomputedStore

    return PrecomputedStore(root or default_root())


def load_volume_file(path: Path, dtype: str | None = None) -> np.ndarray:
    """A 3-D Z, Y, X array from .npy or .tif/.tiff (a 2-D image is one z slice), converted to
    ``dtype`` when given (only where every value survives: e.g. uint16 labels to uint64)."""
    if not path.is_file():
        raise VolumeError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        data = np.load(path, allow_pickle=False)
    elif suffix in (".tif", ".tiff"):
        import tifffile

        data = tifffile.imread(path)
    else:
        raise VolumeError(f"{path}: expected a .npy or .tif file")
    if data.ndim == 2:
        data = data[None]
    if data.ndim != 3:
        raise VolumeError(f"{path}: a volume must be 3-D (Z, Y, X), this array has shape {data.shape}")
    if dtype is not None and str(data.dtype) != dtype:
        data = _convert(path, data, dtype)
    if str(data.dtype) not in DTYPES:
        raise VolumeError(f"{path}: dtype {data.dtype} is not one the Boss stores ({', '.join(DTYPES)}); "
                          "convert it first (e.g. --dtype, or numpy's astype)")
    return np.ascontiguousarray(data)


def _convert(path: Path, data: np.ndarray, dtype: str) -> np.ndarray:
    if dtype not in DTYPES:
        raise VolumeError(f"dtype {dtype} is not one the Boss stores ({', '.join(DTYPES)})")
    limits = np.iinfo(dtype)
    if data.size and (data.dtype.kind not in "biuf" or (data.dtype.kind == "f" and not np.all(np.mod(data, 1) == 0))
                      or data.min() < limits.min or data.max() > limits.max):
        raise VolumeError(f"{path}: its {data.dtype} values do not all fit {dtype} "
                          f"(range {data.min()}..{data.max()}, {dtype} holds {limits.min}..{limits.max})")
    return data.astype(dtype)


def ingest_volume(volumes, ref: ChannelRef, data: np.ndarray, *,
                  voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0), levels: int = 1) -> ChannelInfo:
    """Write ``data`` (Z, Y, X) at the origin of ``ref``, creating the channel (its frame the
    array's size) when it does not exist yet."""
    try:
        info = volumes.info(ref)
    except VolumeError:
        z, y, x = data.shape
        info = volumes.create_channel(ref, size_xyz=(x, y, z), dtype=str(data.dtype), voxel_size=voxel_size,
                                      levels=levels, kind="annotation" if data.dtype == np.uint64 else "image")
    z, y, x = data.shape
    volumes.write(ref, 0, Box(x=(0, x), y=(0, y), z=(0, z)), data)
    return info


def export_volume(volumes, ref: ChannelRef, out: Path, *, resolution: int = 0, box: Box | None = None) -> Box:
    """Write a cutout (default: the whole frame at that resolution) to ``out`` (.npy or .tif)."""
    if box is None:
        info = volumes.info(ref)
        if not 0 <= resolution < len(info.extents):
            raise VolumeError(f"{ref} has resolution levels 0..{len(info.extents) - 1}, not {resolution}")
        x, y, z = info.extents[resolution]
        box = Box(x=(0, x), y=(0, y), z=(0, z))
    data = volumes.read(ref, resolution, box)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() in (".tif", ".tiff"):
        import tifffile

        tifffile.imwrite(out, data)
    elif out.suffix.lower() == ".npy":
        np.save(out, data)
    else:
        raise VolumeError(f"{out}: expected a .npy or .tif file name")
    return box
