"""What crosses Airflow's wire (run conf, XCom) and what cwltool must see again on the far side."""

from __future__ import annotations

import json

import pytest

from saber.cwl._floats import float_texts, restore_floats
from saber.plan import CONF_KEY, conf_inputs, run_conf, unwire, wire_safe

BIG = 4200000000000000000000000000000000000000000


def test_big_integers_are_wrapped_and_come_back():
    value = {"a": [BIG, -BIG, 2**63 - 1, -(2**63)], "b": True, "c": 1.5}
    wired = wire_safe(value)
    assert wired["a"][0] == {"$saber:int": str(BIG)} and wired["a"][2] == 2**63 - 1
    assert wired["b"] is True
    assert unwire(json.loads(json.dumps(wired))) == value


def test_run_conf_keeps_params_plain():
    conf = run_conf({"n": 3, "huge": BIG, "xs": [1, BIG]}, {"point": 0})
    assert conf["n"] == 3 and "huge" not in conf and "xs" not in conf  # Airflow checks top-level keys
    assert conf[CONF_KEY]["point"] == 0
    assert conf_inputs(json.loads(json.dumps(conf))) == {"n": 3, "huge": BIG, "xs": [1, BIG]}
    assert CONF_KEY not in conf_inputs(conf)


def test_yaml_floats_keep_their_written_form():
    from cwltool.builder import Builder
    from ruamel.yaml import YAML

    doc = YAML().load("a: 0.00001\nb: [1.23e5, 2.0]\nc: 3\n")
    table = float_texts(doc)
    assert table == {"1e-05": "0.00001", "123000.0": "1.23e5", "2.0": "2.0"}
    back = restore_floats(json.loads(json.dumps(doc)), table)
    # what cwltool puts on the command line (CWL: decimal notation, as written)
    assert [Builder.tostr(None, v) for v in (back["a"], *back["b"])] == ["0.00001", "123000", "2.0"]
    assert back["c"] == 3 and restore_floats(1e-05, {}) == 1e-05


def test_a_conf_key_that_is_no_input_is_refused() -> None:
    """A hand-made trigger's typo ("thershold") is an error naming it and the known inputs."""
    from saber.errors import InputError
    from saber.plan import check_conf

    plan = {"name": "wf", "inputs": [{"id": "threshold"}, {"id": "volume"}]}
    check_conf(run_conf({"threshold": 1}, {"sweep_id": "s"}), plan)
    check_conf({}, plan)
    with pytest.raises(InputError, match=r"names 'thershold', which is no input of workflow 'wf'; "
                                         r"its inputs are: threshold, volume"):
        check_conf({"thershold": 1}, plan)
    with pytest.raises(InputError, match="'a', 'b', which are no inputs"):
        check_conf({"a": 1, "b": 2, "volume": 3}, plan)
