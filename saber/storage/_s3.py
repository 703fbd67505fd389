"""Run data under an S3 prefix: a published folder counts once its commit marker is written."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from saber.errors import InputError, StorageError
from saber.storage._base import MARKER, Manifest, Storage, check_key, copy_local, file_sha256, local_path, \
    manifest_of
from saber.storage._s3_client import FILE_WORKERS, is_not_found, s3_client, s3_errors, transfer_config

__all__ = ["S3Storage", "parse_s3_url", "s3_url"]


class _Absent(StorageError):
    """Nothing whole is published at a URL (``exists`` answers False instead)."""


@dataclass(frozen=True)
class _Object:
    key: str
    rel: str  # where it goes under fetch's dest ("" for a File)
    size: int | None
    sha256: str | None


class S3Storage(Storage):
    """A prefix in an S3 bucket (AWS or an S3-compatible store through ``AWS_ENDPOINT_URL``).

    A publish deletes what an earlier try left under ``<key>/`` (its marker first), uploads every
    file (boto3's managed transfer: multipart above 8 MiB), then writes ``<key>/.saber-complete``,
    a JSON list of the files with their sizes and sha256 (and the empty folders). Readers take
    a folder only with its marker and only the files it lists. ``client`` defaults to the
    process's shared client (``s3_client()``); tests may pass their own.
    """

    def __init__(self, *, bucket: str, prefix: str = "", client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = check_key(prefix, empty=True)
        self._depth = len(self.prefix.split("/")) if self.prefix else 0
        self._client = client
        self.url = s3_url(bucket, self.prefix)

    @property
    def client(self) -> Any:
        return self._client if self._client is not None else s3_client()

    def publish(self, local_dir: Path, key: str) -> str:
        unit = self._key(check_key(key))
        self._publish(Path(local_dir), unit, manifest_of(Path(local_dir)))
        return s3_url(self.bucket, unit)

    def location(self, key: str, relpath: str = "") -> str:
        return s3_url(self.bucket, self._key(check_key(key), check_key(relpath, empty=True)))

    def fetch(self, url: str, dest: Path) -> Path:
        dest = Path(dest)
        if url.startswith("file:"):
            return copy_local(local_path(url), dest)
        bucket, key = parse_s3_url(url)
        with s3_errors(bucket, key, "reading"):
            objects, dirs = self._resolve(bucket, key)
            if dest.exists() or dest.is_symlink():
                raise StorageError(f"cannot fetch {url} to {dest}: {dest} already exists", url=url)
            dest.parent.mkdir(parents=True, exist_ok=True)
            part = dest.parent / f".{dest.name}.part-{uuid.uuid4().hex[:12]}"
            try:
                self._download(url, bucket, objects, dirs, part)
                os.rename(part, dest)  # the caller sees the whole File or Directory, or nothing
            finally:
                if part.is_dir():
                    shutil.rmtree(part, ignore_errors=True)
                elif part.exists():
                    part.unlink()
        return dest

    def upload_input(self, path: Path) -> str:
        path = Path(path).absolute()
        if not path.exists():
            raise InputError(f"input {path} does not exist")
        if path.is_dir():
            manifest = manifest_of(path)
            key = self._key(f"inputs/sha256/{manifest.digest()}/{path.name}")
            with s3_errors(self.bucket, key, "reading"):
                present = self._head(self.bucket, f"{key}/{MARKER}") is not None
            if not present:
                self._publish(path, key, manifest)
        else:
            key = self._key(f"inputs/sha256/{file_sha256(path)}/{path.name}")
            with s3_errors(self.bucket, key, "writing"):
                if self._head(self.bucket, key) is None:
                    self._put(path, key)
        return s3_url(self.bucket, key)

    def exists(self, url: str) -> bool:
        if url.startswith("file:"):
            return local_path(url).exists()
        bucket, key = parse_s3_url(url)
        try:
            with s3_errors(bucket, key, "reading"):
                self._resolve(bucket, key)
        except _Absent:
            return False
        return True

    def delete(self, key: str) -> None:
        unit = self._key(check_key(key))
        with s3_errors(self.bucket, unit, "deleting"):
            self._remove(unit)

    # -- writing -----------------------------------------------------------------------------

    def _publish(self, local_dir: Path, unit: str, manifest: Manifest) -> None:
        with s3_errors(self.bucket, unit, "writing"):
            self._remove(unit)
            _in_parallel(lambda rel: self._put(local_dir / rel, f"{unit}/{rel}"), manifest.files)
            body = json.dumps(manifest.to_json(), separators=(",", ":")).encode()
            self.client.put_object(Bucket=self.bucket, Key=f"{unit}/{MARKER}", Body=body,
                                   ContentType="application/json")

    def _put(self, path: Path, key: str) -> None:
        self.client.upload_file(str(path), self.bucket, key, Config=transfer_config())

    def _remove(self, unit: str) -> None:
        """Delete the marker first, so that readers see the folder absent before it thins out."""
        self.client.delete_object(Bucket=self.bucket, Key=f"{unit}/{MARKER}")
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=f"{unit}/")
        for page in pages:
            keys = [{"Key": o["Key"]} for o in page.get("Contents", ())]
            if not keys:
                continue
            answer = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
            if errors := answer.get("Errors"):
                first = errors[0]
                raise StorageError(f"S3 did not delete bucket '{self.bucket}', key '{first.get('Key')}': "
                                   f"{first.get('Code')} {first.get('Message', '')}".strip(),
                                   url=s3_url(self.bucket, first.get("Key", unit)))

    # -- reading -----------------------------------------------------------------------------

    def _resolve(self, bucket: str, key: str) -> tuple[list[_Object], list[str]]:
        """The objects (and empty folders) a fetch of ``key`` downloads; _Absent if none whole."""
        url = s3_url(bucket, key)
        if not key:
            raise _Absent(f"{url} names a whole bucket, not a published File or Directory", url=url)
        for unit in self._units_around(bucket, key):
            body = self._get_marker(bucket, unit)
            if body is None:
                continue
            manifest = Manifest.from_json(json.loads(body))
            rel = key[len(unit) + 1:]
            if rel in manifest.files:
                size, sha = manifest.files[rel]
                return [_Object(key, "", size, sha)], []
            sub = f"{rel}/" if rel else ""
            objects = [_Object(f"{unit}/{r}", r[len(sub):], size, sha)
                       for r, (size, sha) in manifest.files.items() if r.startswith(sub)]
            dirs = [d[len(sub):] for d in manifest.dirs if d.startswith(sub)]
            if objects or dirs or rel in manifest.dirs:
                return objects, dirs
            raise _Absent(f"nothing is published at {url}", url=url)
        in_storage = bucket == self.bucket and self._inside(key) and not self._is_input_file(key)
        if not in_storage and (head := self._head(bucket, key)) is not None:
            return [_Object(key, "", head["ContentLength"], None)], []  # one object: whole or absent
        listing = self.client.list_objects_v2(Bucket=bucket, Prefix=f"{key}/", MaxKeys=1)
        if listing.get("KeyCount") or (in_storage and self._head(bucket, key) is not None):
            raise _Absent(f"{url} is not a whole published folder: its commit marker is missing "
                          "(its publish failed or is still going on)", url=url)
        raise _Absent(f"nothing is published at {url}", url=url)

    def _units_around(self, bucket: str, key: str) -> list[str]:
        """Where the marker of a published folder holding ``key`` may be, nearest first."""
        parts = key.split("/")
        first = 1
        if bucket == self.bucket and self._inside(key):
            base = self._depth
            if parts[base:base + 2] == ["inputs", "sha256"] and len(parts) >= base + 4:
                return ["/".join(parts[:base + 4])]  # inputs/sha256/<digest>/<basename>
            first = base + 1
        return ["/".join(parts[:n]) for n in range(len(parts), first - 1, -1)]

    def _download(self, url: str, bucket: str, objects: list[_Object], dirs: list[str], part: Path) -> None:
        if len(objects) == 1 and not objects[0].rel and not dirs:
            self._get(url, bucket, objects[0], part)
            return
        part.mkdir()
        for d in dirs:
            (part / d).mkdir(parents=True, exist_ok=True)
        _in_parallel(lambda o: self._get(url, bucket, o, part / o.rel), objects)

    def _get(self, url: str, bucket: str, obj: _Object, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.client.download_file(bucket, obj.key, str(path), Config=transfer_config())
        if (obj.size is not None and path.stat().st_size != obj.size) or \
                (obj.sha256 is not None and file_sha256(path) != obj.sha256):
            raise StorageError(f"{s3_url(bucket, obj.key)} differs from what its commit marker lists "
                               f"(published again while {url} was read?)", url=url)

    def _get_marker(self, bucket: str, unit: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=bucket, Key=f"{unit}/{MARKER}")["Body"].read()
        except Exception as e:
            if is_not_found(e) or _is_no_bucket(e):  # listing names a missing bucket below
                return None
            raise

    def _head(self, bucket: str, key: str) -> dict | None:
        try:
            return self.client.head_object(Bucket=bucket, Key=key)
        except Exception as e:
            if is_not_found(e):
                return None
            raise

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def _inside(self, key: str) -> bool:
        return not self.prefix or key == self.prefix or key.startswith(f"{self.prefix}/")

    def _is_input_file(self, key: str) -> bool:
        """Whether ``key`` is ``upload_input``'s key of a File: one object, whole or absent."""
        parts = key.split("/")
        return self._inside(key) and len(parts) == self._depth + 4 and \
            parts[self._depth:self._depth + 2] == ["inputs", "sha256"]


def _in_parallel(call: Callable[[Any], None], items: Iterable[Any]) -> None:
    """``call`` each item, FILE_WORKERS at once; the first failure cancels those not started
    and is raised once the running ones end (a publish then never writes its marker)."""
    pool = ThreadPoolExecutor(max_workers=FILE_WORKERS, thread_name_prefix="saber-s3")
    try:
        for future in [pool.submit(call, item) for item in items]:
            future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _is_no_bucket(e: Exception) -> bool:
    return getattr(e, "response", {}).get("Error", {}).get("Code") == "NoSuchBucket"


def s3_url(bucket: str, key: str) -> str:
    """``s3://bucket/key``, the key percent-encoded like ``Path.as_uri()`` encodes a path."""
    return f"s3://{bucket}/{quote(key)}"


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, key) of an ``s3://`` URL, the key decoded and without a trailing ``/``."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise StorageError(f"not an s3://bucket/key URL: {url}", url=url)
    return parts.netloc, unquote(parts.path).strip("/")
