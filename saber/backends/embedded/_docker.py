"""Is a Docker engine answering? One clear sentence when not."""

from __future__ import annotations

from saber.errors import DockerUnavailable

__all__ = ["check_docker", "needs_docker"]


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
