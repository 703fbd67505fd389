"""Every step's image is looked for before the first run; a missing one is one sentence saying how
to get it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from saber.backends.embedded._docker import check_images, step_images
from saber.errors import InputError
from saber.registry._context import context_hash

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "cwl_tools" / "blobs" / "threshold.cwl"


def plan(image: str, tool: Path = TOOL, **req) -> dict:
    docker = {"class": "DockerRequirement", "dockerPull": image, **req}
    return {"steps": [{"task_id": "t", "requirements": [docker], "hints": [], "tool": {"id": tool.as_uri()}}]}


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """A fake `docker`: only saber/blobs:0.1.0 is here, built from dockerfiles/blobs/ as it is
    (its context label), and no pull succeeds."""
    calls: list[list[str]] = []
    label = context_hash(ROOT / "dockerfiles" / "blobs")

    def run(argv, **kwargs):
        calls.append(argv)
        ok = argv[:3] == ["docker", "image", "inspect"] and argv[-1] == "saber/blobs:0.1.0"
        out = label if "--format" in argv else ""
        return subprocess.CompletedProcess(argv, 0 if ok else 1, out if kwargs.get("text") else out.encode(), b"")

    monkeypatch.setattr(subprocess, "run", run)
    return calls


def test_present_images_pass(engine: list[list[str]], caplog: pytest.LogCaptureFixture) -> None:
    check_images(plan("saber/blobs:0.1.0"))
    assert all(argv[:3] == ["docker", "image", "inspect"] for argv in engine)  # nothing pulled or built
    assert caplog.messages == []  # current: its label is the context's hash


def test_a_registry_image_is_built_not_pulled(engine: list[list[str]]) -> None:
    with pytest.raises(InputError, match=r"step 't' runs in Docker image saber/blobs:9\.9\.9, which is not in "
                                         r"the local Docker engine: build it with `saber tools build blobs`") as info:
        check_images(plan("saber/blobs:9.9.9"))
    assert info.value.where.file == str(TOOL) and info.value.where.field == "DockerRequirement"
    assert not any(argv[1] == "pull" for argv in engine)


def test_another_image_is_pulled_first(engine: list[list[str]], tmp_path: Path) -> None:
    tool = tmp_path / "tool.cwl"
    tool.write_text("requirements:\n  DockerRequirement: {dockerPull: lab/denoise:2}\n")
    with pytest.raises(InputError, match=r"get it with `docker pull lab/denoise:2`, `docker build") as info:
        check_images(plan("lab/denoise:2", tool))
    assert info.value.where.line == 2
    assert ["docker", "pull", "-q", "lab/denoise:2"] in engine


def test_images_cwltool_makes_are_not_looked_for() -> None:
    assert step_images(plan("lab/x:1", dockerFile="FROM scratch")) == {}
    assert step_images(plan("lab/x:1", dockerLoad="x.tar")) == {}
    assert list(step_images(plan("lab/x:1"))) == ["lab/x:1"]
