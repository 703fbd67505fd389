"""Sweep labels as Optuna sees them: a range is encoded from its start, step and count, never
listed, and gives the distribution and snapping that its values written out would give."""

from __future__ import annotations

import time
import tracemalloc

from saber_testing import yaml_writer

from saber.optimize import encodings
from saber.sweep import SweepTarget, load_sweep, search_space

TARGET = SweepTarget(workflow_inputs={"x": "float", "y": "int"}, step_inputs={})


def _encodings(tmp_path, text: str):
    return encodings(search_space(load_sweep(yaml_writer(tmp_path, "sweep.yml")(text)), TARGET))


def test_a_range_encodes_as_its_values_written_out(tmp_path):
    ranged = _encodings(tmp_path, "x: {range: {start: 0.1, stop: 1.0, step: 0.1}}\n"
                                  "y: {range: {start: 2, stop: 20, step: 3}}\n")
    listed = _encodings(tmp_path, "x: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]\n"
                                  "y: [2, 5, 8, 11, 14, 17]\n")
    for r, l in zip(ranged, listed):
        assert r.distribution == l.distribution and list(r.values) == list(l.values)
        for param in (-5, 0.1, 0.149, 0.151, 0.30000000000000004, 0.94, 3.4, 12.6, 99):
            assert r.decode(param) == l.decode(param), (r.key, param)
        assert [r.values.index(v) for v in l.values] == list(range(len(l.values)))


def test_a_million_value_range_is_not_listed(tmp_path):
    tracemalloc.start()
    started = time.perf_counter()
    [e] = _encodings(tmp_path, "x: {range: {start: 0, stop: 1, step: 0.000001}}\n"
                           "sampler: {method: tpe, max_iterations: 5}\n")
    decoded = e.decode(0.4567891)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(e.values) == 10**6 and decoded == 0.456789 and e.values[-1] == 0.999999
    assert peak < 5 * 2**20 and seconds < 2, (peak, seconds)  # listing it took ~10 s and ~80 MB
