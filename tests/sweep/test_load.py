from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from saber.errors import InputError
from saber.sweep import MAX_RANGE_VALUES, Tile, load_sweep

SweepFile = Callable[[str], Path]


def values(sweep_file: SweepFile, text: str) -> list[list[object]]:
    return [[v.value for v in d.values] for d in load_sweep(sweep_file(text)).dimensions]


def test_saber_form(sweep_file: SweepFile) -> None:
    sweep = load_sweep(sweep_file("""
        # a comment first, so lines are not all off by the same amount
        x:
          range: {start: 0, stop: 1000, step: 100}
          parameters: {min: xmin, max: xmax}
          steps: [boss_pull, boss_push]
        sampler: {method: batch-grid, batch_size: 4}
    """))
    (x,) = sweep.dimensions
    assert (x.key, x.line, x.listed, x.is_label) == ("x", 2, False, True)
    assert [v.value for v in x.values] == list(range(0, 1000, 100))
    assert {v.line for v in x.values} == {3}
    assert x.parameters == {"min": "xmin", "max": "xmax"}
    assert x.parameters_lines == {"min": 4, "max": 4}
    assert (x.steps, x.steps_lines) == (("boss_pull", "boss_push"), (5, 5))
    assert x.tile == Tile(step=Decimal(100), stop=Decimal(1000), stop_value=1000)
    assert (sweep.method, sweep.batch_size, sweep.max_iterations) == ("batch-grid", 4, None)
    assert sweep.sampler_line == 6


def test_plain_form_keeps_item_lines(sweep_file: SweepFile) -> None:
    sweep = load_sweep(sweep_file("""
        n:
          - 1
          - 2
        name: [a, b]
    """))
    n, name = sweep.dimensions
    assert (n.listed, n.is_label, [(v.value, v.line) for v in n.values]) == (
        True, False, [(1, 2), (2, 3)])
    assert [v.value for v in name.values] == ["a", "b"]
    assert (sweep.method, sweep.seed, sweep.batch_size) == ("grid", 0, None)


@pytest.mark.parametrize("text, expected", [
    pytest.param("f: {range: {start: 0.1, stop: 0.5, step: 0.1}}", [0.1, 0.2, 0.3, 0.4],
                 id="float-range-without-noise"),
    pytest.param("f: {range: {start: 0, stop: 1, step: 0.1}}",
                 [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], id="tenths"),
    pytest.param("f: {range: {start: 0.1, stop: 0.35, step: 0.1}}", [0.1, 0.2, 0.3],
                 id="stop-between-values"),
    pytest.param("n: {range: {start: 0, stop: 10, step: 3}}", [0, 3, 6, 9], id="ints-stay-ints"),
    pytest.param("n: {range: {start: 0, stop: 5, step: 2.5}}", [0.0, 2.5], id="float-step"),
    pytest.param("n: {range: {start: 0, stop: 2.5, step: 1}}", [0, 1, 2], id="float-stop"),
    pytest.param("n: {range: {start: -2, stop: 1, step: 1}}", [-2, -1, 0], id="negative-start"),
    pytest.param("n: {range: [3, 1, 2]}", [3, 1, 2], id="range-list-kept-in-order"),
    pytest.param("n: {values: [true, null, x]}", [True, None, "x"], id="values-any-yaml"),
    pytest.param("d: [2020-01-02]", ["2020-01-02"], id="date-is-a-string"),
    pytest.param("f: [{class: File, path: a}]", [{"class": "File", "path": "a"}],
                 id="mapping-values"),
])
def test_values(sweep_file: SweepFile, text: str, expected: list[object]) -> None:
    (got,) = values(sweep_file, text)
    assert got == expected
    assert [type(v) for v in got] == [type(v) for v in expected]


def test_values_are_plain_python(sweep_file: SweepFile) -> None:
    (got,) = values(sweep_file, "f: [1.5, {class: File, path: a}]")
    assert type(got[0]) is float and type(got[1]) is dict


def test_empty_file_is_an_empty_sweep(sweep_file: SweepFile) -> None:
    sweep = load_sweep(sweep_file("# nothing to sweep\n"))
    assert sweep.dimensions == () and sweep.method == "grid"


@pytest.mark.parametrize("text, message, line", [
    pytest.param("a: [1\nb: 2\n", r"invalid YAML: .*expected ',' or '\]'", 2, id="bad-yaml"),
    pytest.param("a: [1]\na: [2]\n", r"invalid YAML: .*duplicate key", 2, id="duplicate-key"),
    pytest.param("- 1\n- 2\n", r"must be a mapping .*got a list", 1, id="top-level-list"),
    pytest.param("x: 3\n", r"expected a list of values or a mapping .*got int 3", 1,
                 id="scalar-value"),
    pytest.param("x:\n  range: [1]\n  stesp: [a]\n", r"unknown key 'stesp'", 3,
                 id="unknown-label-key"),
    pytest.param("x:\n  range: [1]\n  values: [2]\n", r"not both 'range' and 'values'", 3,
                 id="range-and-values"),
    pytest.param("x:\n  range: {start: 0, stop: 1, step: 0.5}\n  uniform: {low: 0, high: 1}\n",
                 r"not both 'range' and 'uniform'", 3, id="range-and-uniform"),
    pytest.param("x:\n  steps: [a]\n", r"a label needs one of range, values, choice, uniform", 1,
                 id="neither-range-nor-values"),
    pytest.param("x:\n  uniform: {low: 1, high: 1}\n", r"uniform low \(1\) must be below high \(1\)", 2,
                 id="low-not-below-high"),
    pytest.param("x:\n  loguniform:\n    low: 0\n    high: 1\n", r"loguniform low must be > 0", 3,
                 id="loguniform-zero"),
    pytest.param("x:\n  int: {low: 0.5, high: 3}\n", r"int low must be an integer, got float 0.5", 2,
                 id="int-float-bound"),
    pytest.param("x:\n  uniform: {low: 0}\n", r"uniform needs high", 2, id="uniform-no-high"),
    pytest.param("x:\n  uniform: {low: 0, high: 1, step: 1}\n", r"unknown key 'step' in uniform", 2,
                 id="uniform-step"),
    pytest.param("x:\n  choice: []\n", r"the list of values is empty", 2, id="choice-empty"),
    pytest.param("x:\n  range: {start: 0, stop: 5, step: 0}\n", r"step must not be 0", 2,
                 id="step-zero"),
    pytest.param("x:\n  range: {start: 5, stop: 0, step: -1}\n", r"step must be positive", 2,
                 id="step-negative"),
    pytest.param("x:\n  range:\n    start: 5\n    stop: 0\n    step: 1\n",
                 r"start 5 is after stop 0", 3, id="start-after-stop"),
    pytest.param("x:\n  range: {start: 1, stop: 1, step: 1}\n", r"range is empty", 2,
                 id="start-equals-stop"),
    pytest.param("x:\n  range: {start: 0, stop: 5}\n", r"range needs step", 2,
                 id="range-missing-step"),
    pytest.param("x:\n  range: {start: 0, stop: 5, step: 1, num: 3}\n",
                 r"unknown key 'num' in range", 2, id="range-unknown-key"),
    pytest.param("x:\n  range: {start: a, stop: 5, step: 1}\n",
                 r"range start must be a number, got str 'a'", 2, id="range-not-number"),
    pytest.param("x:\n  range: {start: true, stop: 5, step: 1}\n",
                 r"range start must be a number, got bool True", 2, id="range-bool"),
    pytest.param("x:\n  range: {start: 0, stop: .inf, step: 1}\n",
                 r"range stop must be finite", 2, id="range-infinite"),
    pytest.param("x:\n  range: 5\n", r"'range' must be a list or \{start, stop, step\}", 2,
                 id="range-scalar"),
    pytest.param("x:\n  values: {a: 1}\n", r"'values' must be a list, got a mapping", 2,
                 id="values-mapping"),
    pytest.param("x:\n  values: []\n", r"the list of values is empty", 2, id="empty-values"),
    pytest.param("# a\nn: []\n", r"the list of values is empty", 2, id="empty-plain-list"),
    pytest.param("x:\n  values: [1]\n  parameters: {low: a}\n",
                 r"parameters must be \{min: NAME, max: NAME\} or \{abs: NAME\}", 3,
                 id="parameters-bad-roles"),
    pytest.param("x:\n  values: [1]\n  parameters: {abs: 3}\n",
                 r"parameters.abs must name a step input, got int 3", 3, id="parameters-target"),
    pytest.param("x:\n  values: [1, 2]\n  parameters: {min: a, max: b}\n",
                 r"min/max need a range with start, stop and step", 3, id="min-max-need-range"),
    pytest.param("x:\n  range: [1, 2]\n  parameters: {min: a, max: b}\n",
                 r"min/max need a range with start, stop and step", 3, id="min-max-range-list"),
    pytest.param("x:\n  values: [1]\n  steps: []\n", r"steps must be a non-empty list", 3,
                 id="steps-empty"),
    pytest.param("x:\n  values: [1]\n  steps:\n    - a\n    - 4\n",
                 r"a step name must be a string, got int 4", 5, id="steps-not-names"),
    pytest.param("# a\n# b\nsampler: {method: hyperband}\n",
                 r"unknown sampler method 'hyperband' \(known: grid, batch-grid, random, tpe, cmaes\)", 3,
                 id="unknown-method"),
    pytest.param("sampler: {method: tpe}\n", r"tpe sampler needs max_iterations", 1, id="tpe-needs-max"),
    pytest.param("sampler:\n  direction: up\n", r"direction must be maximize or minimize", 2,
                 id="bad-direction"),
    pytest.param("sampler:\n  max_time: soon\n", r"max_time must be a positive duration", 2,
                 id="bad-max-time"),
    pytest.param("sampler:\n  max_time: 0\n", r"max_time must be a positive duration", 2,
                 id="zero-max-time"),
    pytest.param("sampler:\n  objective: [a]\n", r"objective must name a scored step", 2,
                 id="objective-list"),
    pytest.param("sampler:\n  method: grid\n  max_iter: 3\n", r"unknown sampler key 'max_iter'",
                 3, id="unknown-sampler-key"),
    pytest.param("sampler: {max_iterations: 0}\n", r"max_iterations must be a positive int", 1,
                 id="max-iterations-zero"),
    pytest.param("sampler:\n  batch_size: many\n", r"batch_size must be a positive int", 2,
                 id="batch-size-string"),
    pytest.param("sampler: {max_iterations: true}\n", r"max_iterations must be a positive int",
                 1, id="max-iterations-bool"),
    pytest.param("sampler: {method: random}\n", r"random sampler needs max_iterations", 1,
                 id="random-needs-max-iterations"),
    pytest.param("sampler: [grid]\n", r"sampler must be a mapping", 1, id="sampler-list"),
    pytest.param("sampler:\n  method: grid\n  notify: 3\n", r"notify must be a URL or a list of URLs, got int 3",
                 3, id="notify-number"),
    pytest.param("sampler:\n  notify: []\n", r"notify must be a URL or a list of URLs, got a list", 2,
                 id="notify-empty"),
    pytest.param("sampler:\n  notify:\n    - https://ok.example/hook\n    - ftp://files.example/x\n",
                 r"field 'sampler.notify': notify must be an http\(s\) URL, got scheme 'ftp'", 4,
                 id="notify-scheme"),
    pytest.param("sampler: {notify: [https://ok.example/hook, {url: x}]}\n",
                 r"notify must be an http\(s\) URL, got a mapping", 1, id="notify-mapping"),
    pytest.param("sampler:\n  notify: hooks.slack.com/services/x\n",
                 r"notify must be an http\(s\) URL like https://host/path", 2, id="notify-no-scheme"),
    pytest.param("sampler:\n  notfy: https://ok.example/hook\n", r"unknown sampler key 'notfy'", 2,
                 id="notify-typo"),
    pytest.param(f"x:\n  range: {{start: 0, stop: {MAX_RANGE_VALUES + 1}, step: 1}}\n",
                 r"more than 1000000", 2, id="range-too-long"),
])
def test_shape_errors(sweep_file: SweepFile, text: str, message: str, line: int) -> None:
    path = sweep_file(text)
    with pytest.raises(InputError, match=message) as info:
        load_sweep(path)
    assert info.value.where.line == line
    assert info.value.where.file == str(path)


def test_error_names_the_field(sweep_file: SweepFile) -> None:
    path = sweep_file("x:\n  range: {start: 0, stop: 5, step: 0}\n")
    with pytest.raises(InputError, match=r"sweep\.yml:2: field 'x\.range\.step'") as info:
        load_sweep(path)
    assert info.value.where.field == "x.range.step"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yml"
    with pytest.raises(InputError, match=r"absent\.yml: sweep file not found") as info:
        load_sweep(path)
    assert info.value.where.line is None


def test_spaces_and_sampler_options(sweep_file: SweepFile) -> None:
    sweep = load_sweep(sweep_file("""
        sigma:
          uniform: {low: 0.5, high: 2}
          parameters: {abs: sigma}
          steps: [threshold]
        rate: {loguniform: {low: 1.0e-4, high: 0.1}}
        size: {int: {low: 2, high: 8, step: 3}}
        mode: {choice: [fast, slow]}
        sampler:
          method: tpe
          max_iterations: 40
          batch_size: 4
          direction: minimize
          objective: metrics
          seed: 7
          max_time: 1h30m
    """))
    sigma, rate, size, mode = sweep.dimensions
    assert (sigma.space.kind, sigma.space.low, sigma.space.high, sigma.values) == ("uniform", 0.5, 2, ())
    assert sigma.is_label and sigma.steps == ("threshold",)
    assert (rate.space.kind, rate.space.low) == ("loguniform", 1.0e-4)
    assert [v.value for v in size.values] == [2, 5, 8] and size.space.step == 3
    assert [v.value for v in mode.values] == ["fast", "slow"] and mode.space is None
    assert [d.key for d in sweep.continuous] == ["sigma", "rate"]
    assert (sweep.method, sweep.max_iterations, sweep.batch_size, sweep.direction, sweep.objective,
            sweep.seed, sweep.max_time) == ("tpe", 40, 4, "minimize", "metrics", 7, 5400.0)
    assert sweep.lines["objective"] == 13


@pytest.mark.parametrize("text, seconds", [("90", 90.0), ("90s", 90.0), ("30m", 1800.0), ("2h", 7200.0),
                                           ("1h 30m", 5400.0), ("1.5h", 5400.0), ("1d", 86400.0)])
def test_max_time_units(sweep_file: SweepFile, text: str, seconds: float) -> None:
    assert load_sweep(sweep_file(f"sampler: {{max_time: {text}}}\n")).max_time == seconds


def test_notify_is_one_url_or_a_list(sweep_file: SweepFile) -> None:
    assert load_sweep(sweep_file("sampler: {notify: 'https://a.example/hook'}\n")).notify == (
        "https://a.example/hook",)
    listed = load_sweep(sweep_file("sampler:\n  notify: [https://a.example/x, http://b.example/y, "
                                   "https://a.example/x]\n"))
    assert listed.notify == ("https://a.example/x", "http://b.example/y")
    assert load_sweep(sweep_file("x: [1]\n")).notify == ()
