"""The sweep file: its YAML schema, validation with file:line errors, and expansion to points.

`load_sweep` checks the file's shape on its own (and refuses more than MAX_GRID_POINTS points,
counted, not listed); `expand` checks it against a workflow (a `SweepTarget`) and returns typed,
independent `Point`s, `iter_points` the same one at a time.
"""

from __future__ import annotations

from saber.sweep._expand import SearchSpace, expand, iter_points, search_space
from saber.sweep._load import MAX_RANGE_VALUES, load_sweep
from saber.sweep._model import (GRID_METHODS, MAX_GRID_POINTS, METHODS, Dimension, Method, Point, Space, Steps, Sweep,
                                SweepTarget, Tile, Value)

__all__ = [
    "load_sweep",
    "expand",
    "iter_points",
    "search_space",
    "SearchSpace",
    "Space",
    "GRID_METHODS",
    "Sweep",
    "SweepTarget",
    "Point",
    "Dimension",
    "Value",
    "Tile",
    "Method",
    "METHODS",
    "MAX_RANGE_VALUES",
    "MAX_GRID_POINTS",
    "Steps",
]
