"""What the compiler refuses before Airflow would: task ids and input defaults, with their lines."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from saber.cwl import build_plan, dag_id_for, load_process
from saber.errors import InputError

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "cwl"


@pytest.mark.parametrize("name, line, message", [
    pytest.param("non_ascii_step.cwl", 8, r"step id 'émettre' has 'é': Airflow task ids take only ASCII",
                 id="non-ascii"),
    pytest.param("long_step_id.cwl", 8, r"makes a task id 260 characters long, more than Airflow's 250",
                 id="too-long"),
    pytest.param("scatter_suffix_clash.cwl", 15, r"step 'emit__scatter' has the task id saber gives the scatter "
                 r"helper of step 'emit'", id="scatter-helper-clash"),
    pytest.param("bad_default.cwl", 5, r"expected int, got string 'many'", id="default-of-wrong-type"),
])
def test_compile_errors(name: str, line: int, message: str) -> None:
    path = CORPUS / name
    with pytest.raises(InputError, match=message) as info:
        build_plan(load_process(path), path=path)
    assert (info.value.where.file, info.value.where.line) == (str(path), line)


def test_non_ascii_file_names_make_ascii_ids(tmp_path: Path) -> None:
    source = (CORPUS.parent / "tool.cwl").read_text()
    path = tmp_path / "détection_ø.cwl"
    path.write_text(source)
    plan = build_plan(load_process(path), path=path)
    assert plan["dag_id"].isascii() and plan["dag_id"].startswith("saber_d_tection")
    assert [s["task_id"] for s in plan["steps"]] == ["d_tection__"]
    assert dag_id_for(tmp_path / ("x" * 300 + ".cwl")).__len__() <= 250


@pytest.mark.parametrize("hint", ["saber: {retires: 3, queue: default}"])
def test_unknown_saber_hint_keys_are_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture, hint: str) -> None:
    path = tmp_path / "tool.cwl"
    path.write_text("cwlVersion: v1.2\nclass: CommandLineTool\n$namespaces: {saber: https://saber.dev/cwl#}\n"
                    f"hints:\n  {hint}\nbaseCommand: echo\ninputs: []\noutputs: []\n")
    with caplog.at_level(logging.WARNING, logger="saber.cwl"):
        build_plan(load_process(path), path=path)
    warned = [r.getMessage() for r in caplog.records if "saber hint" in r.getMessage()]
    assert len(warned) == 1
    assert f"{path}:" in warned[0] and "unknown key 'retires'" in warned[0]
    assert "known: score_format, queue, retries, retry_delay" in warned[0]
