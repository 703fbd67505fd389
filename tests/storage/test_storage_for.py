"""Storage URLs, the shared client and boto3's failures as one sentence (no server needed)."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from saber.errors import InputError, StorageError
from saber.storage import S3Storage, parse_s3_url, s3_client, s3_url, storage_for
from saber.storage._s3_client import s3_errors


@pytest.mark.parametrize("url, bucket, prefix", [
    pytest.param("s3://lab-runs", "lab-runs", "", id="bucket"),
    pytest.param("s3://lab-runs/saber/", "lab-runs", "saber", id="prefix"),
    pytest.param("s3://lab.runs/a/b%20c", "lab.runs", "a/b c", id="encoded"),
])
def test_storage_for_an_s3_url(url: str, bucket: str, prefix: str) -> None:
    storage = storage_for(url)
    assert isinstance(storage, S3Storage) and (storage.bucket, storage.prefix) == (bucket, prefix)


@pytest.mark.parametrize("url, match", [
    pytest.param("runs/here", "neither an absolute path", id="relative"),
    pytest.param("gs://bucket/x", "neither an absolute path", id="other-scheme"),
    pytest.param("file://host/x", "neither an absolute path", id="remote-file"),
    pytest.param("s3://", "valid S3 bucket", id="no-bucket"),
    pytest.param("s3://Bad_Bucket/x", "valid S3 bucket", id="bad-bucket"),
    pytest.param("s3://bucket/a/../b", "bad prefix", id="escaping-prefix"),
])
def test_storage_for_refuses_other_urls(url: str, match: str) -> None:
    with pytest.raises(InputError, match=match) as caught:
        storage_for(url)
    assert repr(url) in str(caught.value)


def test_locations_are_percent_encoded_and_parse_back() -> None:
    storage = S3Storage(bucket="b", prefix="root")
    url = storage.location("runs/r 1", "out/50%.txt")
    assert url == "s3://b/root/runs/r%201/out/50%25.txt"
    assert parse_s3_url(url) == ("b", "root/runs/r 1/out/50%.txt") and s3_url(*parse_s3_url(url)) == url


def test_saber_storage_imports_without_boto3() -> None:
    code = ("import sys, saber.storage; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_one_client_per_process_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"):
        monkeypatch.delenv(name, raising=False)
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(s3_client())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in seen}) == 1
    assert seen[0].meta.config.retries == {"total_max_attempts": 6, "mode": "standard"}  # 5 retries
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    other = s3_client()
    assert other is not seen[0] and other.meta.endpoint_url == "http://127.0.0.1:9"
    assert other.meta.config.retries["total_max_attempts"] == 2


def _client_error(code: str, status: int = 400):
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "PutObject")


def _upload_failed():
    from boto3.exceptions import S3UploadFailedError

    try:
        raise _client_error("AccessDenied", 403)
    except Exception:
        try:
            raise S3UploadFailedError("Failed to upload a to b/k: An error occurred (AccessDenied)\nmore")
        except S3UploadFailedError as e:
            return e


@pytest.mark.parametrize("make, sentence", [
    pytest.param(lambda: _client_error("NoSuchBucket", 404), "S3 bucket 'bkt' does not exist (writing key 'k/x')",
                 id="no-bucket"),
    pytest.param(lambda: _client_error("AccessDenied", 403), "S3 denied writing bucket 'bkt', key 'k/x' "
                 "(AccessDenied): check the credentials and the bucket's policy", id="denied"),
    pytest.param(lambda: _client_error("403", 403), "S3 denied writing bucket 'bkt', key 'k/x' (403)", id="403"),
    pytest.param(_upload_failed, "S3 denied writing bucket 'bkt', key 'k/x' (AccessDenied)", id="upload-denied"),
    pytest.param(lambda: __import__("botocore.exceptions").exceptions.EndpointConnectionError(
        endpoint_url="http://s3.lab:9000"), "cannot reach the S3 endpoint http://s3.lab:9000 while writing "
                 "bucket 'bkt', key 'k/x'", id="unreachable"),
    pytest.param(lambda: __import__("botocore.exceptions").exceptions.NoCredentialsError(),
                 "no AWS credentials for writing bucket 'bkt', key 'k/x'", id="no-credentials"),
    pytest.param(lambda: _client_error("SlowDown", 503), "S3 failed writing bucket 'bkt', key 'k/x': SlowDown m",
                 id="other"),
])
def test_boto3_failures_become_one_sentence(make, sentence: str) -> None:
    cause = make()
    with pytest.raises(StorageError) as caught:
        with s3_errors("bkt", "k/x", "writing"):
            raise cause
    assert str(caught.value).startswith(sentence) and "\n" not in str(caught.value)
    assert caught.value.__cause__ is not None and caught.value.url == "s3://bkt/k/x"


def test_other_failures_pass_through() -> None:
    with pytest.raises(KeyError):
        with s3_errors("bkt", "k", "reading"):
            raise KeyError("bug")
