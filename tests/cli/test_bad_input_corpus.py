"""The bad-input corpus: every malformed workflow, sweep and job file through the real
`saber run`, each a subprocess on a throw-away $SABER_HOME.

Each must end in exit status 2 within 5 s with one sentence on stderr (one line, no traceback)
that names the file, and the line and field where the table gives them. The files are in
tests/corpus/ (a valid workflow.cwl the sweeps and jobs are checked against, then cwl/, sweep/,
job/); what cannot be committed (binary garbage, a directory, a symlink loop, an alias bomb, a
document nested 10 000 deep) is made by `generated`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from saber_testing import docker_ready

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus"
WORKFLOW = CORPUS / "workflow.cwl"
SECONDS = 5.0

pytestmark = pytest.mark.slow  # ~130 subprocesses: a few minutes on two cores


def case(kind: str, name: str, line: int | None = None, field: str | None = None, says: str = "",
         *, args: tuple[str, ...] = (), named: str | None = None, marks=()):
    """One row: ``kind`` cwl (the workflow), sweep or job; ``name`` a file under tests/corpus/KIND/
    or, starting with '@', one `generated` makes; the message names ``named`` (default: that file)."""
    return pytest.param(kind, name, line, field, says, args, named, id=f"{kind}-{name.lstrip('@')}", marks=marks)


needs_engine = pytest.mark.skipif(not os.environ.get("CI") and not docker_ready(),
                                  reason="needs Docker and the tool images (bash scripts/setup.sh)")

CASES = [
    # -- the workflow ----------------------------------------------------------------------
    case("cwl", "empty.cwl", None, None, "the CWL file is empty"),
    case("cwl", "blank.cwl", None, None, "the CWL file is empty"),
    case("cwl", "@garbage.cwl", None, None, "not UTF-8 text"),
    case("cwl", "@folder.cwl", None, None, "is a directory"),
    case("cwl", "@loop.cwl", None, None, "symbolic link to nothing"),
    case("cwl", "@missing.cwl", None, None, "no such CWL file"),
    case("cwl", "@bomb.cwl", 7, None, "alias bomb"),
    case("cwl", "@deep.cwl", 3, None, "nested too deeply"),
    case("cwl", "latin1.cwl", None, None, "not UTF-8 text"),
    case("cwl", "bad_yaml.cwl", 4, None, "expected ',' or ']'"),
    case("cwl", "tab_indent.cwl", 5, None, "'\\t'"),
    case("cwl", "list_doc.cwl", None, None, "must be a mapping"),
    case("cwl", "scalar_doc.cwl", None, None, "must be a mapping"),
    case("cwl", "no_class.cwl", 1, None, "Missing 'class' field"),
    case("cwl", "unknown_class.cwl", 2, "class", "undefined reference"),
    case("cwl", "old_version.cwl", None, None, "is not supported: saber runs CWL v1.0, v1.1 and v1.2"),
    case("cwl", "no_version.cwl", None, None, "No cwlVersion found"),
    case("cwl", "numeric_version.cwl", 1, None, "'cwlVersion' must be a string"),
    case("cwl", "duplicate_key.cwl", 6, None, "duplicate key \"message\""),
    case("cwl", "duplicate_step_ids.cwl", 7, "id", "'emit' is defined more than once"),
    case("cwl", "duplicate_input_ids.cwl", 4, "id", "'n' is defined more than once"),
    case("cwl", "cycle.cwl", None, None, "circular dependency"),
    case("cwl", "self_loop.cwl", None, None, "circular dependency"),
    case("cwl", "missing_run.cwl", 7, "run", "no_such_tool.cwl"),
    case("cwl", "run_directory.cwl", None, None, "Is a directory"),
    case("cwl", "run_bad_yaml.cwl", 4, None, "expected ',' or ']'", named="cwl/bad_yaml.cwl"),
    case("cwl", "run_not_cwl.cwl", None, None, "must be a mapping"),
    case("cwl", "no_run.cwl", 6, "run", "missing required field 'run'"),
    case("cwl", "unknown_source.cwl", 9, "source", "unknown identifier 'count'"),
    case("cwl", "unknown_output_source.cwl", 6, "outputSource", "unknown identifier 'emit/result'"),
    case("cwl", "unknown_step_out.cwl", 10, None, "'extra' does not correspond to tool output"),
    case("cwl", "unknown_type.cwl", 5, "type", "unknown identifier 'integer'"),
    case("cwl", "unknown_field.cwl", 3, "baseComand", "invalid field 'baseComand'"),
    case("cwl", "inputs_string.cwl", None, None, ""),
    case("cwl", "steps_string.cwl", 5, None, "expected array of <WorkflowStep>"),
    case("cwl", "type_mismatch.cwl", 4, None, "is incompatible with sink 'infile'"),
    case("cwl", "scatter_no_requirement.cwl", None, None, "ScatterFeatureRequirement"),
    case("cwl", "scatter_unknown_input.cwl", 11, "scatter", "unknown identifier 'count'"),
    case("cwl", "non_ascii_step.cwl", 8, "émettre", "ASCII"),
    case("cwl", "long_step_id.cwl", 8, None, "more than Airflow's 250"),
    case("cwl", "scatter_suffix_clash.cwl", 15, "emit__scatter", "scatter helper of step 'emit'"),
    case("cwl", "secret_not_string.cwl", None, "pin", "must be a string"),
    case("cwl", "bad_score_format.cwl", 7, "score_format", "{score}"),
    case("cwl", "bad_default.cwl", 5, "n.default", "expected int, got string 'many'"),
    case("cwl", "missing_import.cwl", None, None, "no_such_inputs.yml"),
    case("cwl", "packed.cwl#nope", None, None, "", named="cwl/packed.cwl"),
    case("cwl", "missing_image.cwl", 7, "DockerRequirement", "saber tools build blobs", marks=needs_engine),
    # -- the sweep (against workflow.cwl) ---------------------------------------------------
    case("sweep", "@garbage.yml", None, None, "not UTF-8 text"),
    case("sweep", "@folder.yml", None, None, "is a directory"),
    case("sweep", "@loop.yml", None, None, "symbolic links"),
    case("sweep", "@missing.yml", None, None, "sweep file not found"),
    case("sweep", "@bomb.yml", 7, None, "alias bomb"),
    case("sweep", "@deep.yml", 1, None, "nested too deeply"),
    case("sweep", "latin1.yml", None, None, "not UTF-8 text"),
    case("sweep", "bad_yaml.yml", 2, None, "invalid YAML"),
    case("sweep", "tab_indent.yml", 2, None, "invalid YAML"),
    case("sweep", "duplicate_key.yml", 2, None, "duplicate key \"x\""),
    case("sweep", "top_list.yml", 1, None, "must be a mapping"),
    case("sweep", "top_scalar.yml", 1, None, "must be a mapping"),
    case("sweep", "key_not_name.yml", 1, None, "keys must be names"),
    case("sweep", "empty_list.yml", 1, "x", "the list of values is empty"),
    case("sweep", "unknown_input.yml", 2, "colour", "not a workflow input"),
    case("sweep", "unknown_label_key.yml", 3, "x", "unknown key 'colour'"),
    case("sweep", "range_non_numeric.yml", 2, "x.range.start", "must be a number"),
    case("sweep", "range_step_zero.yml", 2, "x.range.step", "must not be 0"),
    case("sweep", "range_step_negative.yml", 2, "x.range.step", "must be positive"),
    case("sweep", "range_start_after_stop.yml", 2, "n.range", "is after stop"),
    case("sweep", "range_empty.yml", 2, "n.range", "range is empty"),
    case("sweep", "range_missing_stop.yml", 2, "n.range", "range needs stop"),
    case("sweep", "range_infinite.yml", 2, "x.range.stop", "must be finite"),
    case("sweep", "range_unknown_key.yml", 2, "n.range", "unknown key 'by'"),
    case("sweep", "range_too_long.yml", 2, "x.range", "more than 1000000"),
    case("sweep", "range_is_string.yml", 2, "n", "'range' must be a list"),
    case("sweep", "grid_1e7.yml", 2, "n", "10000000 points"),
    case("sweep", "grid_2e6.yml", 1, "n", "2000000 points"),
    case("sweep", "random_too_many.yml", 5, "sampler.max_iterations", "more than 1000000"),
    case("sweep", "wrong_type_int.yml", 1, "n", "expected int, got string 'two'"),
    case("sweep", "int_given_float.yml", 1, "n", "expected int, got float 1.5"),
    case("sweep", "float_given_string.yml", 1, "x", "expected float"),
    case("sweep", "enum_bad_symbol.yml", 1, "mode", "got string 'medium'"),
    case("sweep", "bool_given_string.yml", 1, "flag", "expected boolean"),
    case("sweep", "array_given_scalar_list.yml", 1, "items", "expected int[]"),
    case("sweep", "secret_swept.yml", 1, "token", "a secret"),
    case("sweep", "secret_swept_label.yml", 1, "secret", "a secret"),
    case("sweep", "sampler_unknown_method.yml", 2, "sampler.method", "unknown sampler method 'bayes'"),
    case("sweep", "sampler_unknown_key.yml", 4, "sampler", "unknown sampler key 'max_iter'"),
    case("sweep", "sampler_zero_iterations.yml", 2, "sampler.max_iterations", "positive int"),
    case("sweep", "sampler_random_no_iterations.yml", 2, "sampler", "needs max_iterations"),
    case("sweep", "sampler_list.yml", 2, "sampler", "must be a mapping"),
    case("sweep", "sampler_bad_direction.yml", 2, "sampler.direction", "maximize or minimize"),
    case("sweep", "sampler_bad_max_time.yml", 2, "sampler.max_time", "positive duration"),
    case("sweep", "sampler_bad_batch_size.yml", 2, "sampler.batch_size", "positive int"),
    case("sweep", "sampler_objective_number.yml", 2, "sampler.objective", "scored step"),
    case("sweep", "sampler_bad_notify.yml", 6, "sampler.notify", "notify must be an http(s) URL"),
    case("sweep", "both_range_and_values.yml", 2, "n", "not both"),
    case("sweep", "label_without_values.yml", 1, "n", "a label needs one of"),
    case("sweep", "values_not_list.yml", 2, "n", "'values' must be a list"),
    case("sweep", "unknown_step.yml", 4, "size.steps", "unknown step 'nowhere'"),
    case("sweep", "step_without_input.yml", 3, "size.parameters.abs", "has an input 'radius'"),
    case("sweep", "parameters_bad_shape.yml", 3, "size.parameters", "{abs: NAME}"),
    case("sweep", "parameters_minmax_no_range.yml", 3, "size.parameters", "need a range"),
    case("sweep", "non_string_step.yml", 4, "size.steps", "must be a string"),
    case("sweep", "uniform_low_above_high.yml", 2, "x.uniform.low", "must be below high"),
    case("sweep", "loguniform_zero.yml", 2, "x.loguniform.low", "must be > 0"),
    case("sweep", "int_space_float.yml", 2, "n.int.low", "must be an integer"),
    case("sweep", "grid_of_continuous.yml", 2, "x", "uniform space"),
    case("sweep", "set_twice.yml", 3, "also_n", "expected int[]"),
    # -- the job file (against workflow.cwl) ------------------------------------------------
    case("job", "@garbage.yml", None, None, "not UTF-8 text"),
    case("job", "@folder.yml", None, None, "is a directory"),
    case("job", "@loop.yml", None, None, "symbolic links"),
    case("job", "@missing.yml", None, None, "job file not found"),
    case("job", "@bomb.yml", 7, None, "alias bomb"),
    case("job", "@deep.yml", 1, None, "nested too deeply"),
    case("job", "latin1.yml", None, None, "not UTF-8 text"),
    case("job", "bad_yaml.yml", 2, None, "invalid YAML"),
    case("job", "tab_indent.yml", 2, None, "invalid YAML"),
    case("job", "top_list.yml", 1, None, "must be a mapping"),
    case("job", "scalar_doc.yml", 1, None, "must be a mapping"),
    case("job", "wrong_type_int.yml", 1, "n", "expected int, got string 'many'"),
    case("job", "int_given_list.yml", 1, "n", "expected int, got list"),
    case("job", "float_given_string.yml", 1, "x", "expected float"),
    case("job", "bool_given_string.yml", 1, "flag", "expected boolean"),
    case("job", "enum_bad_symbol.yml", 1, "mode", "got string 'medium'"),
    case("job", "array_given_mapping.yml", 1, "items", "expected int[]"),
    case("job", "null_for_string.yml", 1, "name", "got null"),
    case("job", "secret_not_string.yml", 1, "token", "got int 1234"),
    case("job", "missing_file.yml", 1, "infile", "no_such_file.txt does not exist"),
    case("job", "directory_as_file.yml", 1, "infile", "is a directory, not a File"),
    case("job", "file_as_directory.yml", 1, "indir", "is a file, not a Directory"),
    case("job", "missing_directory.yml", 1, "indir", "no_such_dir does not exist"),
    case("job", "missing_secondary_file.yml", 1, "infile", "no_such_index.txt does not exist"),
    case("job", "file_as_string.yml", 1, "infile", "expected File?"),
    case("job", "file_class_typo.yml", 1, "infile", "expected File?"),
    case("job", "file_without_path.yml", 1, "infile", "expected File?"),
]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cases no repository should hold, made for cwl/, sweep/ and job/ alike."""
    root = tmp_path_factory.mktemp("corpus")
    bomb = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    bomb += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]  # 9^10 values
    for kind, suffix in (("cwl", ".cwl"), ("sweep", ".yml"), ("job", ".yml")):
        folder = root / kind
        folder.mkdir()
        (folder / f"garbage{suffix}").write_bytes(bytes(range(256)) * 8)
        (folder / f"folder{suffix}").mkdir()
        (folder / f"loop{suffix}").symlink_to(folder / f"loop2{suffix}")
        (folder / f"loop2{suffix}").symlink_to(folder / f"loop{suffix}")
        head = "cwlVersion: v1.2\nclass: CommandLineTool\n" if kind == "cwl" else ""
        (folder / f"bomb{suffix}").write_text("\n".join(bomb) + "\n")
        (folder / f"deep{suffix}").write_text(head + "doc: " + "[" * 10_000 + "]" * 10_000 + "\n")
    return root


def test_corpus_is_large() -> None:
    assert len(CASES) >= 100


@pytest.mark.parametrize("kind, name, line, field, says, args, named", CASES)
def test_bad_input(generated: Path, tmp_path: Path, kind: str, name: str, line: int | None,
                   field: str | None, says: str, args: tuple[str, ...], named: str | None) -> None:
    folder = generated / kind if name.startswith("@") else CORPUS / kind
    path = folder / name.lstrip("@")
    argv = {"cwl": [str(path)], "sweep": [str(WORKFLOW), str(path)],
            "job": [str(WORKFLOW), "--job", str(path)]}[kind]
    env = {**os.environ, "SABER_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT),
           "COLUMNS": "400"}  # one long line: rich must not wrap the sentence
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "saber", "run", *argv, *args, "--outdir", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    seconds = time.monotonic() - started
    lines = [text for text in done.stderr.splitlines() if text.strip()]
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and len(lines) == 1, done.stderr[-3000:]
    message = lines[0]
    file = str(CORPUS / named) if named else str(path).partition("#")[0]
    assert f"{file}{f':{line}' if line else ''}:" in message, message
    if field:
        assert f"field '{field}'" in message, message
    assert says in message, message
    assert seconds < SECONDS, f"{seconds:.1f} s: {message}"
    assert not (tmp_path / "out").exists()
