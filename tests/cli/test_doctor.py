"""`saber doctor`: one line per check, exit 0 on a healthy home, exit 1 with a FAIL line that
names the problem on a broken one."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from saber_testing import local_base_env, needs_docker, run_saber, tiny_registry

pytestmark = [needs_docker, pytest.mark.docker]


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A one-image tool registry whose image is built (current); removed afterwards."""
    group = f"doctor{secrets.token_hex(4)}"
    root = tmp_path / "checkout"
    image = tiny_registry(root, group)
    try:
        built = run_saber("tools", "--root", str(root), "build", group, env=local_base_env())
        assert built.returncode == 0, built.stderr
        yield root, image
    finally:
        subprocess.run(["docker", "rmi", "-f", image], capture_output=True, check=False)


def doctor(root: Path, home: Path) -> tuple[int, list[str]]:
    done = run_saber("doctor", "--root", str(root), env={"SABER_HOME": str(home)}, timeout=60)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout.splitlines()


def test_a_healthy_home_passes_every_check(tmp_path: Path, registry: tuple[Path, str]) -> None:
    root, image = registry
    code, lines = doctor(root, tmp_path / "home")
    assert code == 0, lines
    assert all(line.split()[0] in ("ok", "warn") for line in lines), lines
    text = "\n".join(lines)
    for expected in ("ok    Docker engine", f"ok    image {image} is built from", "ok    saber home",
                     "ok    Airflow database", "ok    results store", "free for run storage",
                     "ok    apache-airflow ", "ok    cwltool "):
        assert expected in text, text
    assert not (tmp_path / "home").exists()  # the doctor only looks


def test_a_home_that_is_a_file_fails(tmp_path: Path, registry: tuple[Path, str]) -> None:
    home = tmp_path / "home"
    home.write_text("not a folder")
    code, lines = doctor(registry[0], home)
    assert code == 1
    assert f"FAIL  saber home {home} ($SABER_HOME) is not a folder" in lines, lines


def test_a_missing_image_fails(tmp_path: Path, registry: tuple[Path, str]) -> None:
    root, _ = registry
    group = f"doctor{secrets.token_hex(4)}"
    missing = tiny_registry(root, group)  # a second image folder, never built
    code, lines = doctor(root, tmp_path / "home")
    assert code == 1
    assert f"FAIL  image {missing} is missing: saber tools build {group}" in lines, lines
    assert [line for line in lines if line.startswith("FAIL")] == [
        f"FAIL  image {missing} is missing: saber tools build {group}"]


def test_a_stale_image_is_a_warning(tmp_path: Path, registry: tuple[Path, str]) -> None:
    root, image = registry
    group = image.split("/")[1].split(":")[0]
    (root / "dockerfiles" / group / "say.py").write_text("print('changed')\n")
    code, lines = doctor(root, tmp_path / "home")
    assert code == 0
    assert any(line.startswith(f"warn  image {image} is stale") and line.endswith(f"saber tools build {group}")
               for line in lines), lines
