"""Images carry their build context's hash: `saber tools build` rebuilds a stale one, `saber
tools test` refuses it, and `saber run` refuses a missing registry image before any run (and
warns about a stale one)."""

from __future__ import annotations

import logging
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from saber_testing import local_base_env, needs_docker, run_saber, say_script, tiny_registry

from saber.backends.embedded._docker import check_images

pytestmark = [needs_docker, pytest.mark.docker]


@pytest.fixture
def group() -> Iterator[str]:
    """A fresh image group; its images are removed afterwards."""
    name = f"stale{secrets.token_hex(4)}"
    yield name
    subprocess.run(["docker", "rmi", "-f", f"saber/{name}:0.1.0"], capture_output=True, check=False)


def test_a_changed_script_makes_the_image_stale_until_rebuilt(tmp_path: Path, group: str) -> None:
    image = tiny_registry(tmp_path, group)
    tools = ["tools", "--root", str(tmp_path)]
    env = local_base_env()

    built = run_saber(*tools, "build", group, env=env)
    assert built.returncode == 0, built.stderr
    assert f"{image}: built" in built.stderr
    again = run_saber(*tools, "build", group, env=env)
    assert f"{image}: present (current)" in again.stderr
    assert run_saber(*tools, "test", f"{group}/say", env=env).returncode == 0

    say_script(tmp_path, group, "spoke")
    (tmp_path / "cwl_tools" / group / "say.expect.yml").write_text("stdout_contains: ['spoke hello']\n")
    refused = run_saber(*tools, "test", f"{group}/say", env=env)
    assert refused.returncode == 2
    message = " ".join(refused.stderr.split())
    assert message.startswith(f"saber: image {image} is stale: its build context") and \
        message.endswith(f"run `saber tools build {group}`"), refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "ok " not in refused.stderr  # nothing ran

    rebuilt = run_saber(*tools, "build", group, env=env)
    assert f"{image}: built (context changed)" in rebuilt.stderr, rebuilt.stderr
    passed = run_saber(*tools, "test", f"{group}/say", env=env)
    assert passed.returncode == 0, passed.stderr
    assert "1 of 1 tool(s) passed" in passed.stderr


def test_an_image_built_by_hand_is_stale_and_force_rebuilds(tmp_path: Path, group: str) -> None:
    image = tiny_registry(tmp_path, group)
    folder = tmp_path / "dockerfiles" / group
    hand = subprocess.run(["docker", "build", "-q", "--build-arg", f"BASE_IMAGE={local_base_env()['BASE_IMAGE']}",
                           "-t", image, str(folder)], capture_output=True, text=True)
    assert hand.returncode == 0, hand.stderr
    refused = run_saber("tools", "--root", str(tmp_path), "test", f"{group}/say")
    assert refused.returncode == 2 and f"image {image} is stale" in refused.stderr
    forced = [run_saber("tools", "--root", str(tmp_path), "build", "--force", group, env=local_base_env())
              for _ in range(2)]
    assert [f.stderr.strip() for f in forced] == [f"{image}: built (context changed)", f"{image}: built"]


def test_saber_run_refuses_a_missing_registry_image_before_any_run(tmp_path: Path, group: str) -> None:
    image = tiny_registry(tmp_path / "checkout", group)  # never built
    tool = tmp_path / "checkout" / "cwl_tools" / group / "say.cwl"
    home = tmp_path / "home"
    started = time.monotonic()
    result = run_saber("run", str(tool), "--job", str(tool.with_suffix(".job.yml")),
                       "--outdir", str(tmp_path / "out"), env={"SABER_HOME": str(home)}, timeout=120)
    seconds = time.monotonic() - started
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert f"step 'say' runs in Docker image {image}, which is not in the local Docker engine" in message
    assert f"build it with `saber tools build {group}`" in message
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    # Refused before the DAG was written or Airflow's database made: no run, no container.
    assert not list((home / "dags").glob("*.py")) and not (home / "airflow" / "airflow.db").exists()
    assert seconds < 30, f"refused after {seconds:.1f} s"


def test_a_stale_registry_image_runs_with_a_warning(tmp_path: Path, group: str,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    image = tiny_registry(tmp_path, group)
    assert run_saber("tools", "--root", str(tmp_path), "build", group, env=local_base_env()).returncode == 0
    tool = tmp_path / "cwl_tools" / group / "say.cwl"
    plan = {"steps": [{"task_id": "say", "hints": [], "tool": {"id": tool.as_uri()},
                       "requirements": [{"class": "DockerRequirement", "dockerPull": image}]}]}
    with caplog.at_level(logging.WARNING, logger="saber.backends.embedded"):
        check_images(plan)
        assert caplog.messages == []
        say_script(tmp_path, group, "spoke")
        check_images(plan)
    assert len(caplog.messages) == 1
    assert f"image {image} of step 'say' was built from an older" in caplog.messages[0]
    assert caplog.messages[0].endswith(f"rebuild it with `saber tools build {group}`")
