"""Volumes: cutouts of BossDB channels, from a local Neuroglancer-precomputed store (offline) or,
through intern, from a Boss server. Arrays are Z, Y, X; boxes are half-open x, y, z ranges."""

from saber.volumes._boss import BossVolumes, boss_config
from saber.volumes._model import AXES, DTYPES, Box, ChannelInfo, ChannelRef, VolumeError
from saber.volumes._precomputed import PrecomputedStore
from saber.volumes._server import serving
from saber.volumes._transfer import default_root, export_volume, ingest_volume, load_volume_file, open_volumes

__all__ = ["AXES", "DTYPES", "BossVolumes", "Box", "ChannelInfo", "ChannelRef", "PrecomputedStore", "VolumeError",
           "boss_config", "default_root", "export_volume", "ingest_volume", "load_volume_file", "open_volumes",
           "serving"]
