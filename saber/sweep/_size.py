"""How many points a sweep asks for, counted before any exists: a product of sizes, not a list."""

from __future__ import annotations

import math

from saber.errors import InputError
from saber.sweep._model import GRID_METHODS, MAX_GRID_POINTS, Sweep

__all__ = ["check_size"]


def check_size(sweep: Sweep) -> None:
    """Refuse a sweep whose grid, or whose queue of drawn points, exceeds MAX_GRID_POINTS: counted
    as the product of the dimensions' sizes, before any point exists.

    Raises:
        InputError: too many points, with a hint to use a sampler instead.
    """
    if sweep.method not in (*GRID_METHODS, "random") or sweep.continuous:
        return  # tpe and cmaes ask for points round by round; a continuous space has no grid
    sizes = [(d, len(d.values)) for d in sweep.dimensions]
    total = math.prod(n for _, n in sizes)
    wanted = min(total, sweep.max_iterations or total)
    if wanted <= MAX_GRID_POINTS:
        return
    hint = "sample it instead, e.g. sampler: {method: random, max_iterations: 1000} (or tpe or cmaes)"
    if sweep.max_iterations is not None:
        raise InputError(f"max_iterations {sweep.max_iterations} asks for more than {MAX_GRID_POINTS} "
                         f"points, saber's limit for one sweep (MAX_GRID_POINTS); ask for at most that many",
                         file=sweep.file, line=sweep.lines.get("max_iterations", sweep.sampler_line),
                         field="sampler.max_iterations")
    biggest, _ = max(sizes, key=lambda item: item[1])
    shape = " x ".join(f"{d.key} {n}" for d, n in sizes)
    raise InputError(f"the grid has {total} points ({shape}), more than saber's limit of "
                     f"{MAX_GRID_POINTS} (MAX_GRID_POINTS); {hint}", file=sweep.file, line=biggest.line,
                     field=biggest.key)
