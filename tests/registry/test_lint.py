"""The registry's catalogue and lint, on small registries written in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from saber.errors import InputError
from saber.registry import Registry, validate

GOOD = """\
cwlVersion: v1.2
class: CommandLineTool
doc: Count things.
requirements:
  DockerRequirement: {dockerPull: saber/demo:0.2.0}
baseCommand: [python3, /opt/count.py]
inputs:
  volume:
    type: File
    doc: The volume.
    inputBinding: {position: 1}
outputs:
  count:
    type: File
    doc: The count.
    outputBinding: {glob: count.txt}
"""

BAD = """\
cwlVersion: v1.2
class: CommandLineTool
requirements:
  DockerRequirement: {dockerPull: "saber/other:latest"}
baseCommand: [python3, /opt/count.py]
inputs:
  volume:
    type: File
    inputBinding: {position: 1}
  extra: string
outputs:
  count:
    type: File
    doc: The count.
  log:
    type: stdout
    doc: The log.
"""


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    (tmp_path / "cwl_tools" / "demo").mkdir(parents=True)
    (tmp_path / "dockerfiles" / "demo").mkdir(parents=True)
    (tmp_path / "dockerfiles" / "demo" / "VERSION").write_text("0.2.0\n")
    (tmp_path / "cwl_tools" / "demo" / "count.cwl").write_text(GOOD)
    (tmp_path / "cwl_tools" / "demo" / "count.job.yml").write_text("volume: {class: File, path: v.npy}\n")
    return Registry(tmp_path)


def test_catalogue(registry: Registry) -> None:
    (tool,) = registry.tools()
    assert (tool.name, tool.image, tool.version, tool.doc) == ("demo/count", "saber/demo:0.2.0", "0.2.0",
                                                               "Count things.")
    assert [(p.id, p.type, p.doc) for p in tool.inputs] == [("volume", "File", "The volume.")]
    assert registry.get("count") == registry.get("demo/count")
    with pytest.raises(InputError, match=r"no tool 'nope' .*\(tools: demo/count\)"):
        registry.get("nope")


def test_a_good_tool_passes(registry: Registry) -> None:
    assert validate(registry, []) == []


def test_every_problem_with_its_line(registry: Registry) -> None:
    bad = registry.tools_dir / "demo" / "bad.cwl"
    bad.write_text(BAD)
    got = [str(p) for p in validate(registry, [bad])]
    assert got == [
        f"{bad}:1: the tool has no doc (what it does, its algorithm, its outputs)",
        f"{bad}:3: image saber/other:latest needs a version tag (not :latest): name:VERSION from "
        "dockerfiles/<name>/VERSION",
        f"{bad}:3: image saber/other:latest is not built from dockerfiles/ (no dockerfiles/other/)",
        f"{bad}:7: input 'volume' has no doc",
        f"{bad}:10: input 'extra' has no doc",
        f"{bad}:12: output 'count' has no outputBinding.glob",
        f"{bad}: no sample job bad.job.yml beside the tool (saber tools test runs it)",
    ]


def test_schema_errors_come_from_cwltool(registry: Registry) -> None:
    broken = registry.tools_dir / "demo" / "broken.cwl"
    broken.write_text(GOOD.replace("type: File\n    doc: The volume.", "type: Fiel\n    doc: The volume."))
    (problem,) = validate(registry, [broken])
    assert problem.file.endswith("broken.cwl") and problem.line == 9 and "Fiel" in problem.message


def test_version_must_match_the_dockerfile(registry: Registry) -> None:
    (registry.images_dir / "demo" / "VERSION").write_text("0.3.0\n")
    (problem,) = validate(registry, [])
    assert "image tag 0.2.0 differs from" in problem.message and problem.line == 4


SECRET = """\
cwlVersion: v1.2
class: CommandLineTool
doc: Read from a server.
$namespaces: {cwltool: "http://commonwl.org/cwltool#"}
requirements:
  DockerRequirement: {dockerPull: saber/demo:0.2.0}
  EnvVarRequirement: {envDef: {API_TOKEN: $(inputs.token)}}
hints:
  cwltool:Secrets: {secrets: [token, key]}
baseCommand: [python3, /opt/read.py]
inputs:
  token:
    type: string
    doc: The API token.
  key:
    type: string
    doc: Another secret, wrongly on the command line.
    inputBinding: {prefix: --key}
  host:
    type: string
    doc: Not a secret.
    inputBinding: {prefix: --host}
outputs: []
"""


@pytest.mark.parametrize("hints", [
    pytest.param(None, id="mapping"),
    pytest.param("hints:\n  - {class: cwltool:Secrets, secrets: [token, key]}\n", id="list"),
])
def test_a_secret_input_must_not_have_an_input_binding(registry: Registry, hints: str | None) -> None:
    text = SECRET if hints is None else SECRET.replace("hints:\n  cwltool:Secrets: {secrets: [token, key]}\n", hints)
    path = registry.tools_dir / "demo" / "read.cwl"
    path.write_text(text)
    path.with_suffix(".job.yml").write_text("token: t\nkey: k\nhost: h\n")
    assert [str(p) for p in validate(registry, [path])] == [
        (f"{path}:18: input 'key' is a secret (cwltool:Secrets) but has an inputBinding: secrets reach the "
         "container through the environment (EnvVarRequirement), never the command line")]


def test_secrets_must_name_inputs(registry: Registry) -> None:
    path = registry.tools_dir / "demo" / "read.cwl"
    path.write_text(SECRET.replace("[token, key]", "[token, tokne]").replace(
        "    inputBinding: {prefix: --key}\n", ""))
    path.with_suffix(".job.yml").write_text("token: t\nkey: k\nhost: h\n")
    assert [str(p) for p in validate(registry, [path])] == [
        f"{path}:8: cwltool:Secrets lists 'tokne', which is not an input of this tool"]
