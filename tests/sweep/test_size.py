"""Large sweeps: refused by arithmetic above MAX_GRID_POINTS, lazy below it (ranges, grids, draws)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from saber.errors import InputError
from saber.sweep import (MAX_GRID_POINTS, Dimension, Steps, Sweep, SweepTarget, Value, expand, iter_points,
                         load_sweep, search_space)

SweepFile = Callable[[str], Path]
TARGET = SweepTarget(workflow_inputs={"a": "int", "b": "int", "c": "int", "x": "float"}, step_inputs={})


@pytest.mark.parametrize("text, line, field, message", [
    pytest.param("a: {range: {start: 0, stop: 1000, step: 1}}\nb: {range: {start: 0, stop: 100, step: 1}}\n"
                 "c: {range: {start: 0, stop: 100, step: 1}}\n", 1, "a",
                 r"the grid has 10000000 points \(a 1000 x b 100 x c 100\), more than saber's limit of 1000000",
                 id="grid-1e7"),
    pytest.param("a: {range: {start: 0, stop: 2000, step: 1}}\nb: {range: {start: 0, stop: 1000, step: 1}}\n"
                 "sampler: {method: batch-grid, batch_size: 4}\n", 1, "a", r"2000000 points", id="batch-grid-2e6"),
    pytest.param("a: {range: {start: 0, stop: 10000, step: 1}}\nb: {range: {start: 0, stop: 1000, step: 1}}\n"
                 "sampler:\n  method: random\n  max_iterations: 2000000\n", 5, "sampler.max_iterations",
                 r"max_iterations 2000000 asks for more than 1000000", id="random-too-many"),
])
def test_too_many_points_are_refused_at_once(sweep_file: SweepFile, text: str, line: int, field: str,
                                             message: str) -> None:
    started = time.monotonic()
    with pytest.raises(InputError, match=message) as info:
        load_sweep(sweep_file(text))
    assert time.monotonic() - started < 0.5
    assert (info.value.where.line, info.value.where.field) == (line, field)
    assert "max_iterations" in info.value.message


@pytest.mark.parametrize("text", [
    pytest.param("a: {range: {start: 0, stop: 10000, step: 1}}\nb: {range: {start: 0, stop: 1000, step: 1}}\n"
                 "sampler: {method: random, max_iterations: 5, seed: 3}\n", id="random-draws"),
    pytest.param("a: {range: {start: 0, stop: 10000, step: 1}}\nb: {range: {start: 0, stop: 1000, step: 1}}\n"
                 "sampler: {method: grid, max_iterations: 5}\n", id="grid-prefix"),
    pytest.param("a: {range: {start: 0, stop: 10000, step: 1}}\nb: {range: {start: 0, stop: 1000, step: 1}}\n"
                 "x: {uniform: {low: 0, high: 1}}\nsampler: {method: tpe, max_iterations: 5}\n", id="tpe"),
])
def test_samplers_may_cover_a_larger_grid(sweep_file: SweepFile, text: str) -> None:
    space = search_space(load_sweep(sweep_file(text)), TARGET)
    if space.grid_size is not None:
        assert space.grid_size == 10_000_000 > MAX_GRID_POINTS


def test_random_draws_pick_cells_without_listing_the_grid(sweep_file: SweepFile) -> None:
    sweep = load_sweep(sweep_file("a: {range: {start: 0, stop: 100000, step: 1}}\n"
                                  "b: {range: {start: 0, stop: 1000, step: 1}}\n"
                                  "sampler: {method: random, max_iterations: 4, seed: 1}\n"))
    started = time.monotonic()
    got = expand(sweep, TARGET)
    assert time.monotonic() - started < 0.5
    assert len(got) == 4 and len({(p.inputs["a"], p.inputs["b"]) for p in got}) == 4
    assert got == expand(sweep, TARGET)  # seeded


def test_a_long_range_is_linear(sweep_file: SweepFile) -> None:
    sweep = load_sweep(sweep_file("x: {range: {start: 0, stop: 4, step: 0.0001}}\n"))
    assert isinstance(sweep.dimensions[0].values, Steps) and len(sweep.dimensions[0].values) == 40_000
    started = time.monotonic()
    got = expand(sweep, TARGET)
    space = search_space(sweep, TARGET)
    again = [space.point(i, chosen) for i, chosen in enumerate(space.iter_grid())]
    assert time.monotonic() - started < 10  # was 34 s: every point searched the list of values
    assert [p.inputs["x"] for p in got[:4]] == [0.0, 0.0001, 0.0002, 0.0003] and got[-1].inputs["x"] == 3.9999
    assert [p.inputs for p in again] == [p.inputs for p in got]


def test_points_come_one_at_a_time(sweep_file: SweepFile) -> None:
    sweep = load_sweep(sweep_file("a: {range: {start: 0, stop: 300, step: 1}}\nb: [1, 2]\n"))
    lazy = iter_points(sweep, TARGET)
    first = next(lazy)
    assert (first.index, first.inputs) == (0, {"a": 0, "b": 1})
    assert [p.inputs for p in lazy][-1] == {"a": 299, "b": 2}


def test_a_range_is_typed_at_its_ends_and_second_value(sweep_file: SweepFile) -> None:
    with pytest.raises(InputError, match=r"field 'a': workflow input 'a': expected int, got float 0\.0"):
        expand(load_sweep(sweep_file("a: {range: {start: 0, stop: 100, step: 0.5}}\n")), TARGET)
    with pytest.raises(InputError, match=r"field 'a': workflow input 'a': expected string, got int 0"):
        expand(load_sweep(sweep_file("a: {range: {start: 0, stop: 100, step: 1}}\n")),
               SweepTarget(workflow_inputs={"a": "string"}, step_inputs={}))


def test_steps_behave_like_the_values_they_stand_for() -> None:
    from decimal import Decimal

    steps = Steps(Decimal("0.1"), Decimal("0.2"), 4, ints=False, line=3)
    assert list(steps) == [Value(0.1, 3), Value(0.3, 3), Value(0.5, 3), Value(0.7, 3)]
    assert steps[-1] == Value(0.7, 3) and steps[1:3] == (Value(0.3, 3), Value(0.5, 3))
    assert steps == tuple(steps) and (steps.position(0.5), steps.position(0.4), steps.position("a")) == (2, None, None)


def test_a_sweep_built_in_code_is_counted_too() -> None:
    from decimal import Decimal

    big = Steps(Decimal(0), Decimal(1), 2000, ints=True, line=1)
    sweep = Sweep(file="made.yml", dimensions=tuple(Dimension(key=k, line=1, values=big, listed=False)
                                                    for k in "ab"))
    with pytest.raises(InputError, match="4000000 points"):
        search_space(sweep, TARGET)
