"""S3 keeps the storage contract (on a throw-away SeaweedFS); commit markers, content-addressed
inputs and one-sentence errors."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from saber.errors import InputError, StorageError
from saber.storage import MARKER, S3Storage, storage_for
from saber.storage.testing import StorageContract, make_tree

pytestmark = pytest.mark.s3


@pytest.fixture
def storage(s3_env) -> S3Storage:
    """A fresh bucket, under a prefix, through the process's shared client."""
    return storage_for(f"s3://{s3_env.new_bucket()}/saber-root")


class TestS3Storage(StorageContract):
    @pytest.fixture
    def storage(self, storage: S3Storage) -> S3Storage:
        return storage

    @pytest.fixture
    def midway_failure(self, monkeypatch: pytest.MonkeyPatch):
        @contextmanager
        def failing():
            calls, lock = [], threading.Lock()
            real = S3Storage._put

            def put_once(self, path: Path, key: str) -> None:
                with lock:
                    calls.append(key)
                    first = len(calls) == 1
                if not first:
                    raise OSError(5, "Input/output error", str(path))
                real(self, path, key)

            with monkeypatch.context() as m:
                m.setattr(S3Storage, "_put", put_once)
                yield

        return failing


@contextmanager
def counting_uploads(client) -> list[str]:
    """The keys of the PUTs and multipart uploads ``client`` makes in the block."""
    keys: list[str] = []

    def count(params, **_):
        keys.append(params["Key"])

    events = ("before-parameter-build.s3.PutObject", "before-parameter-build.s3.CreateMultipartUpload")
    for event in events:
        client.meta.events.register(event, count, unique_id=f"count-{event}")
    try:
        yield keys
    finally:
        for event in events:
            client.meta.events.unregister(event, unique_id=f"count-{event}")


def test_identical_inputs_are_uploaded_once(storage: S3Storage, tmp_path: Path) -> None:
    data = make_tree(tmp_path / "a", {"reads.txt": b"ACGT" * 1000, "ref/x.fa": b">x", "ref/y/z.fa": b">z"})
    copy = make_tree(tmp_path / "b", {"reads.txt": b"ACGT" * 1000})  # same content, elsewhere
    with counting_uploads(storage.client) as puts:
        url = storage.upload_input(data / "reads.txt")
        assert storage.upload_input(copy / "reads.txt") == url
        ref = storage.upload_input(data / "ref")
        assert storage.upload_input(data / "ref") == ref
    assert url == f"{storage.url}/inputs/sha256/{hashlib.sha256(b'ACGT' * 1000).hexdigest()}/reads.txt"
    assert sorted(k.rsplit("/", 1)[-1] for k in puts) == sorted(["reads.txt", "x.fa", "z.fa", MARKER])


def test_a_folder_without_its_marker_is_refused(storage: S3Storage, tmp_path: Path) -> None:
    url = storage.publish(make_tree(tmp_path / "t", {"a": b"1", "d/b": b"2"}), "k")
    storage.client.delete_object(Bucket=storage.bucket, Key=f"saber-root/k/{MARKER}")
    assert not storage.exists(url) and not storage.exists(storage.location("k", "a"))
    with pytest.raises(StorageError, match=r"^s3://.*/saber-root/k is not a whole published folder: its "
                                           "commit marker is missing"):
        storage.fetch(url, tmp_path / "out")


def test_a_file_changed_after_publishing_is_refused(storage: S3Storage, tmp_path: Path) -> None:
    url = storage.publish(make_tree(tmp_path / "t", {"a": b"1", "b": b"2"}), "k")
    storage.client.put_object(Bucket=storage.bucket, Key="saber-root/k/b", Body=b"3")
    with pytest.raises(StorageError, match="differs from what its commit marker lists"):
        storage.fetch(url, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_marker_lists_sizes_and_checksums(storage: S3Storage, tmp_path: Path) -> None:
    storage.publish(make_tree(tmp_path / "t", {"a": b"1"}, empty_dirs=("e",)), "k")
    body = storage.client.get_object(Bucket=storage.bucket, Key=f"saber-root/k/{MARKER}")["Body"].read()
    assert json.loads(body) == {"version": 1, "dirs": ["e"], "files": {"a": {
        "size": 1, "sha256": "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"}}}


def test_objects_outside_the_storage_are_read_as_they_are(storage: S3Storage, s3_env, tmp_path: Path) -> None:
    other = s3_env.new_bucket()
    storage.client.put_object(Bucket=other, Key="data/vol.npy", Body=b"npy")
    assert storage.fetch(f"s3://{other}/data/vol.npy", tmp_path / "v.npy").read_bytes() == b"npy"
    with pytest.raises(StorageError, match="commit marker is missing"):
        storage.fetch(f"s3://{other}/data", tmp_path / "d")


def _one_sentence(error: StorageError, *names: str) -> None:
    text = str(error)
    assert "\n" not in text and all(n in text for n in names), text


def test_a_missing_bucket_is_named(s3_env, tmp_path: Path) -> None:
    storage = storage_for("s3://no-such-bucket-saber/root")
    tree = make_tree(tmp_path / "t", {"a": b"1"})
    with pytest.raises(StorageError, match="S3 bucket 'no-such-bucket-saber' does not exist") as caught:
        storage.publish(tree, "runs/k")
    _one_sentence(caught.value, "no-such-bucket-saber", "root/runs/k")
    with pytest.raises(StorageError, match="S3 bucket 'no-such-bucket-saber' does not exist") as caught:
        storage.fetch(storage.location("runs/k"), tmp_path / "out")
    _one_sentence(caught.value, "no-such-bucket-saber", "root/runs/k")


def test_an_unreachable_endpoint_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: connections are refused
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_MAX_ATTEMPTS": "1", "AWS_ACCESS_KEY_ID": "k",
           "AWS_SECRET_ACCESS_KEY": "s", "AWS_DEFAULT_REGION": "us-east-1"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    storage = storage_for("s3://some-bucket/root")
    with pytest.raises(StorageError, match=f"cannot reach the S3 endpoint http://127.0.0.1:{port}") as caught:
        storage.publish(make_tree(tmp_path / "t", {"a": b"1"}), "k")
    _one_sentence(caught.value, "some-bucket", "root/k")
    with pytest.raises(StorageError, match="cannot reach") as caught:
        storage.upload_input(tmp_path / "t" / "a")
    _one_sentence(caught.value, "some-bucket", "root/inputs/sha256/")
    with pytest.raises(InputError):
        storage.upload_input(tmp_path / "missing")


def test_a_partly_uploaded_input_folder_is_refused_then_uploaded_again(
        storage: S3Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = make_tree(tmp_path / "ref", {f"chr{i}.fa": b">%d" % i for i in range(5)})
    real = S3Storage._put

    def put_chr0_only(self, path: Path, key: str) -> None:
        if path.name != "chr0.fa":
            raise OSError(28, "No space left on device", str(path))
        real(self, path, key)

    with monkeypatch.context() as m:
        m.setattr(S3Storage, "_put", put_chr0_only)
        with pytest.raises(StorageError, match="local I/O failed while writing"):
            storage.upload_input(ref)
    url = storage.location(f"inputs/sha256/{_dir_digest(ref)}/ref")
    assert not storage.exists(url) and not storage.exists(f"{url}/chr0.fa")
    assert storage.upload_input(ref) == url
    assert storage.fetch(f"{url}/chr3.fa", tmp_path / "c3").read_bytes() == b">3"


def _dir_digest(path: Path) -> str:
    from saber.storage._base import manifest_of

    return manifest_of(path).digest()
