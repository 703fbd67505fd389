"""Is a Docker engine answering, and does it have the images? One clear sentence when not."""

from __future__ import annotations

import logging
from pathlib import Path

from saber.errors import DockerUnavailable, InputError, SaberError

__all__ = ["check_docker", "check_images", "needs_docker", "step_images"]

log = logging.getLogger(__name__)


def needs_docker(plan: dict) -> bool:
    """Does any step run its tool in a container?"""
    for step in plan["steps"]:
        for req in [*step.get("requirements", []), *step.get("hints", []),
                    *step["tool"].get("requirements", []), *step["tool"].get("hints", [])]:
            if isinstance(req, dict) and req.get("class") == "DockerRequirement":
                return True
    return False


def check_docker(timeout: float = 10.0) -> None:
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except DockerException as e:
        raise DockerUnavailable(
            "No Docker engine answers (tried DOCKER_HOST or /var/run/docker.sock): start one, e.g. "
            "`bash scripts/setup.sh`, or `dockerd` as root, then run saber again.") from e
    except Exception as e:  # requests/urllib3 errors when the socket exists but nothing listens
        raise DockerUnavailable(f"No Docker engine answers: {type(e).__name__}. Start dockerd and try again.") from e


def step_images(plan: dict) -> dict[str, dict]:
    """Image -> the first step whose tool runs in it (its DockerRequirement: dockerPull or
    dockerImageId; an image cwltool builds or loads itself, dockerFile or dockerLoad, is not one)."""
    images: dict[str, dict] = {}
    for step in plan["steps"]:
        for req in [*step.get("requirements", []), *step.get("hints", [])]:
            if not isinstance(req, dict) or req.get("class") != "DockerRequirement":
                continue
            if req.get("dockerFile") or req.get("dockerLoad"):
                continue
            image = req.get("dockerImageId") or req.get("dockerPull")
            if isinstance(image, str) and image:
                images.setdefault(image, step)
    return images


def check_images(plan: dict) -> None:
    """Every image a step runs in is in the local engine (or pulled now): a missing one failed
    each step of every run, after the first containers had started. A registry image built from
    an older dockerfiles/<name>/ runs, with a warning: the steps would run the old scripts.

    Raises:
        InputError: an image that is neither here nor pullable, with how to build it.
    """
    import subprocess

    for image, step in step_images(plan).items():
        folder = _image_folder(image, step)
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0:
            if folder is not None:
                _warn_if_stale(image, folder, step)
            continue
        if folder is None and subprocess.run(["docker", "pull", "-q", image], capture_output=True).returncode == 0:
            continue  # what cwltool would have done at run time, done once, now
        how = (f"build it with `saber tools build {folder.name}`" if folder else
               f"get it with `docker pull {image}`, `docker build -t {image} DIR` or `docker load -i FILE`")
        file = _tool_file(step)
        raise InputError(f"step '{step['task_id']}' runs in Docker image {image}, which is not in the local "
                         f"Docker engine: {how}", file=file, line=_line_of(file, image), field="DockerRequirement")


def _warn_if_stale(image: str, folder: Path, step: dict) -> None:
    from saber.registry._images import image_state, image_tag

    try:
        if image_tag(folder) != image or image_state(folder, image)[1] != "stale":
            return  # another version's tag is lint's business; a current image needs no word
    except SaberError:  # no VERSION file: not an image the registry builds
        return
    log.warning("saber: warning: image %s of step '%s' was built from an older %s/ (or by hand): "
                "the step runs the old code; rebuild it with `saber tools build %s`",
                image, step["task_id"], folder, folder.name)


def check_gpus(plan: dict) -> None:
    """Every GPU step can get its minimum number of devices on this machine: one that cannot
    would wait for GPUs forever, or fail each run after the first containers started.

    Raises:
        InputError: the first such step, what it asks for and what this machine has.
    """
    import os

    from saber.execution._gpus import gpu_devices, gpu_request

    devices = None
    for step in plan["steps"]:
        wanted = gpu_request(step)
        if wanted is None:
            continue
        devices = gpu_devices() if devices is None else devices
        if wanted.low > len(devices):
            where = ("$SABER_GPUS" if "SABER_GPUS" in os.environ else "nvidia-smi -L")
            has = f"{len(devices)} ({where} lists {', '.join(devices)})" if devices else f"none ({where} lists none)"
            file = _tool_file(step)
            raise InputError(f"step '{step['task_id']}' needs {wanted.low} GPU(s) (CUDARequirement "
                             f"cudaDeviceCountMin) but this machine has {has}", file=file,
                             line=_line_of(file, "cudaDeviceCount"), field="cwltool:CUDARequirement")


def _line_of(file: str | None, text: str) -> int | None:
    """The first line of ``file`` that holds ``text`` (the plan keeps no lines)."""
    try:
        lines = Path(file).read_text(encoding="utf-8").splitlines() if file else []
    except OSError:
        return None
    return next((n for n, line in enumerate(lines, 1) if text in line), None)


def _tool_file(step: dict) -> str | None:
    from urllib.parse import unquote

    tool_id = str(step["tool"].get("id", ""))
    if not tool_id.startswith("file://"):
        return None
    return unquote(tool_id.split("#", 1)[0].removeprefix("file://")) or None


def _image_folder(image: str, step: dict) -> Path | None:
    """dockerfiles/GROUP when ``image`` is saber/GROUP:VERSION of a checkout's tool registry (it
    builds that image), looked for above the tool's file and the working directory."""
    if not image.startswith("saber/"):
        return None
    group = image.removeprefix("saber/").split(":", 1)[0]
    tool = _tool_file(step)
    for start in ([Path(tool).parent] if tool else []) + [Path.cwd()]:
        for folder in (start.resolve(), *start.resolve().parents):
            if (folder / "dockerfiles" / group).is_dir():
                return folder / "dockerfiles" / group
    return None
