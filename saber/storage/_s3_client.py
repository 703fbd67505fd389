"""The boto3 S3 client saber shares within a process, and boto3's failures as one sentence.

boto3 is imported on first use only: ``saber``'s command line starts without it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from saber.errors import StorageError

__all__ = ["is_not_found", "s3_client", "s3_errors", "transfer_config"]

# The client depends on these (boto3's own chain reads them); one client per process and values.
_ENVIRONMENT = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_ACCESS_KEY_ID",
                "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE")
_clients: dict[tuple, Any] = {}
_lock = threading.Lock()
_DENIED = {"AccessDenied", "403", "Forbidden", "AllAccessDisabled", "InvalidAccessKeyId",
           "SignatureDoesNotMatch", "AccountProblem", "InvalidToken", "ExpiredToken"}
FILE_WORKERS = 8  # files moved at once; each big one in up to _PART_WORKERS parts at once
_PART_WORKERS = 4


def s3_client() -> Any:
    """boto3's S3 client with standard retries (5 after the first try, or ``AWS_MAX_ATTEMPTS``
    tries in all), credentials and endpoint from boto3's standard chain (environment,
    ``~/.aws``, an instance role; ``AWS_ENDPOINT_URL`` for S3-compatible stores). Built once
    per process (a forked child builds its own) and thread-safe, as boto3's clients are."""
    cache_key = (os.getpid(), *(os.environ.get(name) for name in _ENVIRONMENT))
    with _lock:
        client = _clients.get(cache_key)
        if client is None:
            import boto3.session
            import botocore.config

            retries: dict[str, Any] = {"mode": os.environ.get("AWS_RETRY_MODE") or "standard"}
            if attempts := _int_env("AWS_MAX_ATTEMPTS"):  # boto3's variable counts the first try
                retries["total_max_attempts"] = attempts
            else:
                retries["max_attempts"] = 5  # retries after the first try
            config = botocore.config.Config(retries=retries,
                                            max_pool_connections=FILE_WORKERS * _PART_WORKERS)
            client = _clients[cache_key] = boto3.session.Session(botocore_session=_botocore_session()) \
                .client("s3", config=config)
    return client


_loader: Any = None  # botocore's data loader: its parsed S3 model and endpoint data, per machine


def _botocore_session() -> Any:
    """A new botocore session (credentials and settings are read anew) on a shared data loader:
    each task process, forked from the `saber run` or worker process that made a client first,
    inherits the parsed S3 model instead of parsing it again (≈ 0.1 s a process)."""
    global _loader
    import botocore.session

    session = botocore.session.Session()
    if _loader is None:
        _loader = session.get_component("data_loader")
    else:
        session.register_component("data_loader", _loader)
    return session


def transfer_config() -> Any:
    """boto3's managed transfer settings: multipart above 8 MiB, a few parts at once."""
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(max_concurrency=_PART_WORKERS)


def is_not_found(e: Exception) -> bool:
    """Whether ``e`` is S3's answer for a missing key (HEAD answers a bare 404)."""
    from botocore.exceptions import ClientError

    return isinstance(e, ClientError) and str(e.response.get("Error", {}).get("Code")) in \
        ("404", "NoSuchKey", "NotFound")


@contextmanager
def s3_errors(bucket: str, key: str, doing: str) -> Iterator[None]:
    """Turn boto3's and local I/O failures in the block into a StorageError naming ``bucket``
    and ``key``; ``doing`` is a gerund ("reading", "writing", "deleting")."""
    try:
        yield
    except StorageError:
        raise
    except Exception as e:
        error = _storage_error(e, bucket, key, doing)
        if error is None:
            raise
        raise error from e


def _storage_error(e: Exception, bucket: str, key: str, doing: str) -> StorageError | None:
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(e, S3UploadFailedError) and isinstance(e.__context__, (ClientError, BotoCoreError)):
        e = e.__context__  # upload_file wraps the real failure
    where = f"bucket '{bucket}', key '{key}'"
    if isinstance(e, ClientError):
        error = e.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "NoSuchBucket":
            message = f"S3 bucket '{bucket}' does not exist ({doing} key '{key}')"
        elif code in _DENIED or status == 403:
            message = (f"S3 denied {doing} {where} ({code}): check the credentials and the "
                       "bucket's policy")
        else:
            message = f"S3 failed {doing} {where}: {code} {error.get('Message', '')}".rstrip()
    elif isinstance(e, EndpointConnectionError):
        message = f"cannot reach the S3 endpoint {e.kwargs.get('endpoint_url')} while {doing} {where}"
    elif isinstance(e, NoCredentialsError):
        message = (f"no AWS credentials for {doing} {where}: set AWS_ACCESS_KEY_ID and "
                   "AWS_SECRET_ACCESS_KEY, a profile in ~/.aws, or an instance role")
    elif isinstance(e, (BotoCoreError, S3UploadFailedError)):
        message = f"S3 failed {doing} {where}: {e}"
    elif isinstance(e, OSError):
        message = f"local I/O failed while {doing} S3 {where}: {e}"
    else:
        return None
    return StorageError(" ".join(message.split()), url=f"s3://{bucket}/{key}")


def _int_env(name: str) -> int | None:
    try:
        return int(os.environ[name])
    except (KeyError, ValueError):
        return None
