"""Volumes: cutouts of BossDB channels, from a local Neuroglancer-precomputed store (offline) or,
through intern, from a Boss server. Arrays are Z, Y, X; boxes are half-open x, y, z ranges."""

from saber.volumes._model import AXES, DTYPES, Box, ChannelInfo, ChannelRef, VolumeError
from saber.volumes._precomputed import PrecomputedStore

__all__ = ["AXES", "DTYPES", "Box", "ChannelInfo", "ChannelRef", "PrecomputedStore", "VolumeError"]
