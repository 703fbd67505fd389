from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from saber.errors import InputError
from saber.sweep import Point, SweepTarget, expand, load_sweep, search_space

SweepFile = Callable[[str], Path]

TARGET = SweepTarget(
    workflow_inputs={"n": "int", "name": "string", "scale": ["null", "float"],
                     "image": "File"},
    step_inputs={
        "boss_pull": {"xmin": "int", "xmax": "int", "token": "string"},
        "segment": {"threshold": "double", "xmin": "int"},
        "boss_push": {"xmin": None, "xmax": "float"},
    },
)


def points(sweep_file: SweepFile, text: str, target: SweepTarget = TARGET) -> list[Point]:
    return expand(load_sweep(sweep_file(text)), target)


def test_min_max_tiles_clip_at_stop(sweep_file: SweepFile) -> None:
    got = points(sweep_file, """
        x:
          range: {start: 0, stop: 950, step: 100}
          parameters: {min: xmin, max: xmax}
          steps: [boss_pull]
    """)
    tiles = [(p.step_inputs["boss_pull"]["xmin"], p.step_inputs["boss_pull"]["xmax"]) for p in got]
    assert tiles[:2] == [(0, 100), (100, 200)]
    assert tiles[-1] == (900, 950)
    assert len(tiles) == 10
    assert [p.params["x"] for p in got] == list(range(0, 950, 100))
    assert all(p.inputs == {} and list(p.step_inputs) == ["boss_pull"] for p in got)


def test_float_tiles_are_exact_and_typed_per_step(sweep_file: SweepFile) -> None:
    got = points(sweep_file, """
        x:
          range: {start: 0.1, stop: 0.5, step: 0.2}
          parameters: {min: xmin, max: xmax}
          steps: [boss_push]
    """)
    assert [p.step_inputs["boss_push"] for p in got] == [
        {"xmin": 0.1, "xmax": 0.3}, {"xmin": 0.3, "xmax": 0.5}]


def test_last_tile_ends_at_stop_as_written(sweep_file: SweepFile) -> None:
    target = SweepTarget(workflow_inputs={}, step_inputs={"crop": {"lo": None, "hi": None}})
    got = points(sweep_file, "x:\n  range: {start: 0, stop: 2.5, step: 1}\n"
                             "  parameters: {min: lo, max: hi}\n", target)
    tiles = [(p.step_inputs["crop"]["lo"], p.step_inputs["crop"]["hi"]) for p in got]
    assert tiles == [(0, 1), (1, 2), (2, 2.5)]
    assert [type(hi) for _, hi in tiles] == [int, int, float]


def test_grid_size_and_order(sweep_file: SweepFile) -> None:
    got = points(sweep_file, "n: [1, 2]\nname: [a, b, c]\n")
    assert [p.index for p in got] == list(range(6))
    assert [(p.inputs["n"], p.inputs["name"]) for p in got] == [
        (1, "a"), (1, "b"), (1, "c"), (2, "a"), (2, "b"), (2, "c")]
    assert got[4].params == {"n": 2, "name": "b"}


def test_plain_and_saber_forms_mix(sweep_file: SweepFile) -> None:
    got = points(sweep_file, """
        scale: {range: {start: 0, stop: 3, step: 1}}
        threshold:
          values: [0.5]
        x:
          range: {start: 0, stop: 20, step: 10}
          parameters: {abs: xmin}
    """)
    assert len(got) == 6
    # A plain input is checked against its type: int range values stay ints for float?, as
    # cwltool keeps an int job value (its command line shows 0, not 0.0).
    assert got[0].inputs == {"scale": 0} and type(got[0].inputs["scale"]) is int
    # No steps listed: every step with such an input receives it, typed for that step.
    assert got[1].step_inputs == {"segment": {"threshold": 0.5, "xmin": 10},
                                  "boss_pull": {"xmin": 10}, "boss_push": {"xmin": 10}}
    assert got[1].params == {"scale": 0.0, "threshold": 0.5, "x": 10}


def test_unknown_step_input_type_keeps_yaml_type(sweep_file: SweepFile) -> None:
    (p,) = points(sweep_file, "x:\n  values: [7]\n  parameters: {abs: xmin}\n"
                              "  steps: [boss_push]\n")
    assert p.step_inputs == {"boss_push": {"xmin": 7}}


def test_points_and_steps_are_independent(sweep_file: SweepFile) -> None:
    got = points(sweep_file, """
        x:
          range: {start: 0, stop: 200, step: 100}
          parameters: {min: xmin, max: xmax}
          steps: [boss_pull, boss_push]
        image: [{class: File, path: a.tif}]
    """)
    first, second = got
    first.step_inputs["boss_pull"]["xmin"] = -1
    first.inputs["image"]["path"] = "changed"
    first.params["x"] = -1
    assert first.step_inputs["boss_push"]["xmin"] == 0
    assert first.step_inputs["boss_pull"] is not first.step_inputs["boss_push"]
    assert second.step_inputs["boss_pull"]["xmin"] == 100
    assert second.inputs["image"] == {"class": "File", "path": "a.tif"}
    again = expand(load_sweep(sweep_file("image: [{class: File, path: a.tif}]\n")), TARGET)
    assert again[0].inputs["image"]["path"] == "a.tif"


def test_empty_sweep_is_one_point(sweep_file: SweepFile) -> None:
    assert points(sweep_file, "sampler: {method: grid}\n") == [
        Point(index=0, params={}, inputs={}, step_inputs={})]


RANDOM = "n: [1, 2, 3, 4, 5, 6, 7, 8]\nname: [a, b, c, d]\n"


def test_random_sampler_is_deterministic_without_duplicates(sweep_file: SweepFile) -> None:
    text = RANDOM + "sampler: {method: random, max_iterations: 10, seed: 7}\n"
    first, again = points(sweep_file, text), points(sweep_file, text)
    assert first == again
    assert [p.index for p in first] == list(range(10))
    drawn = [(p.inputs["n"], p.inputs["name"]) for p in first]
    assert len(set(drawn)) == 10
    grid = [(n, s) for n in range(1, 9) for s in "abcd"]
    assert set(drawn) <= set(grid) and drawn != grid[:10]


def test_random_sampler_seeds(sweep_file: SweepFile) -> None:
    def drawn(extra: str) -> list[tuple[int, str]]:
        got = points(sweep_file, RANDOM + f"sampler: {{method: random, {extra}}}\n")
        return [(p.inputs["n"], p.inputs["name"]) for p in got]

    assert drawn("max_iterations: 5") == drawn("max_iterations: 5, seed: 0")
    assert drawn("max_iterations: 5, seed: 1") != drawn("max_iterations: 5, seed: 2")
    everything = drawn("max_iterations: 1000")
    assert len(everything) == 32 and len(set(everything)) == 32


@pytest.mark.parametrize("sampler, count", [
    pytest.param("{method: grid}", 32, id="grid"),
    pytest.param("{method: grid, max_iterations: 5}", 5, id="grid-capped"),
    pytest.param("{method: batch-grid, batch_size: 4}", 32, id="batch-grid"),
])
def test_grid_samplers_keep_grid_order(sweep_file: SweepFile, sampler: str, count: int) -> None:
    path = sweep_file(RANDOM + f"sampler: {sampler}\n")
    got = expand(load_sweep(path), TARGET)
    full = expand(load_sweep(sweep_file(RANDOM)), TARGET)
    assert got == full[:count]


def test_batch_size_is_kept(sweep_file: SweepFile) -> None:
    assert load_sweep(sweep_file("sampler: {method: batch-grid, batch_size: 4}\n")).batch_size == 4


@pytest.mark.parametrize("text, message, line", [
    pytest.param("# a\nsize: [1, 2]\n", r"'size' is not a workflow input "
                 r"\(inputs: image, n, name, scale\)", 2, id="not-a-workflow-input"),
    pytest.param("size:\n  values: [1]\n", r"'size' is not a workflow input \(inputs: image, n, "
                 r"name, scale\) and no step has an input 'size'", 1, id="bare-label-no-input"),
    pytest.param("x:\n  values: [1]\n  parameters: {abs: xmin}\n  steps:\n    - boss_pull\n"
                 "    - bos_push\n",
                 r"unknown step 'bos_push' \(steps: boss_pull, boss_push, segment\)", 6,
                 id="unknown-step"),
    pytest.param("x:\n  values: [1]\n  parameters: {abs: token}\n  steps: [segment]\n",
                 r"none of the steps segment has an input 'token'", 3,
                 id="parameter-not-in-listed-steps"),
    pytest.param("x:\n  range: {start: 0, stop: 2, step: 1}\n  parameters:\n    min: xmin\n"
                 "    max: ymax\n", r"no step has an input 'ymax'", 5, id="parameter-no-step"),
    pytest.param("x:\n  values: [1]\n  parameters: {abs: xmax}\n  steps: [boss_pull, segment]\n",
                 r"step 'segment' has none of the inputs xmax \(its inputs: threshold, xmin\)", 4,
                 id="listed-step-gets-nothing"),
    pytest.param("n:\n  - 1\n  - 2.5\n", r"workflow input 'n': expected int, got float 2\.5", 3,
                 id="float-for-int-input"),
    pytest.param("n: [1, 2.0]\n", r"workflow input 'n': expected int, got float 2\.0", 1,
                 id="integral-float-for-int"),
    pytest.param("n: {range: {start: 0, stop: 1, step: 0.5}}\n",
                 r"workflow input 'n': expected int, got float 0\.0", 1, id="float-range-for-int"),
    pytest.param("name: [a, 3]\n", r"workflow input 'name': expected string, got int 3", 1,
                 id="int-for-string"),
    pytest.param("image: [a.tif]\n", r"workflow input 'image': expected File, got string "
                 r"'a\.tif' \(write a mapping", 1, id="path-string-for-file"),
    pytest.param("t:\n  values:\n    - 0.5\n    - high\n  parameters: {abs: threshold}\n",
                 r"step 'segment' input 'threshold': expected double, got string 'high'", 4,
                 id="step-input-type"),
    pytest.param("x:\n  range: {start: 0, stop: 1, step: 0.5}\n  parameters: {abs: xmin}\n"
                 "  steps: [boss_pull]\n",
                 r"step 'boss_pull' input 'xmin': expected int, got float 0\.0", 2,
                 id="float-range-for-int-step-input"),
    pytest.param("a:\n  values: [1]\n  parameters: {abs: xmin}\n"
                 "b:\n  values: [2]\n  parameters: {abs: xmin}\n  steps: [segment]\n",
                 r"step 'segment' input 'xmin' is already set by 'a'", 4, id="two-labels-clash"),
])
def test_target_errors(sweep_file: SweepFile, text: str, message: str, line: int) -> None:
    path = sweep_file(text)
    sweep = load_sweep(path)
    with pytest.raises(InputError, match=message) as info:
        expand(sweep, TARGET)
    assert info.value.where.line == line
    assert info.value.where.file == str(path)


def test_continuous_space_makes_points_for_any_value(sweep_file: SweepFile) -> None:
    space = search_space(load_sweep(sweep_file("""
        threshold:
          uniform: {low: 0.1, high: 0.9}
          steps: [segment]
        n: {int: {low: 1, high: 5, step: 2}}
        sampler: {method: tpe, max_iterations: 5}
    """)), TARGET)
    assert space.grid_size is None
    point = space.point(3, {"threshold": 0.4242, "n": 3})
    assert (point.index, point.params) == (3, {"threshold": 0.4242, "n": 3})
    assert point.step_inputs == {"segment": {"threshold": 0.4242}} and point.inputs == {"n": 3}
    with pytest.raises(InputError, match=r"sweep\.yml:2: field 'threshold': a grid needs a finite list "
                                         r"of values for every label; 'threshold' is a uniform space"):
        space.grid()


def test_int_space_is_a_grid(sweep_file: SweepFile) -> None:
    got = points(sweep_file, "n: {int: {low: 1, high: 5, step: 2}}\nname: {choice: [a, b]}\n")
    assert [p.params for p in got] == [{"n": n, "name": s} for n in (1, 3, 5) for s in ("a", "b")]


def test_uniform_space_on_an_int_input_is_an_error(sweep_file: SweepFile) -> None:
    with pytest.raises(InputError, match=r"sweep\.yml:2: field 'xmin'.*") as info:
        points(sweep_file, "xmin:\n  uniform: {low: 0.5, high: 2}\n  steps: [boss_pull]\n")
    assert "int" in info.value.message


def test_shipped_boss_sweep_tiles_the_frame_one_block_at_a_time() -> None:
    from saber_testing import ROOT

    from saber.cwl import build_plan, load_process

    workflow = ROOT / "workflows" / "cell_detect_boss.cwl"
    plan = build_plan(load_process(workflow), path=workflow)
    target = SweepTarget(
        workflow_inputs={i["id"]: i["type"] for i in plan["inputs"]},
        step_inputs={s["task_id"]: {i["id"]: i.get("type") for i in s["in"]} for s in plan["steps"]})
    sweep = load_sweep(ROOT / "sweeps" / "cell_detect_boss.yml")
    got = expand(sweep, target)
    assert (sweep.method, sweep.batch_size) == ("grid", 1)
    assert [p.step_inputs["pull_raw"] for p in got] == [
        {"xmin": x, "xmax": x + 32, "ymin": y, "ymax": y + 32} for x in (0, 32) for y in (0, 32)]
    assert all(p.step_inputs["pull_truth"] == p.step_inputs["merge"] == p.step_inputs["pull_raw"]
               and set(p.step_inputs) == {"pull_raw", "pull_truth", "merge"} and not p.inputs for p in got)
