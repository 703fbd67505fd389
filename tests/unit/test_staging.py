"""Staging a task's run data: a File this machine published itself is linked, not downloaded,
when its content is the one the output object names; anything else is fetched."""

from __future__ import annotations

import hashlib
from pathlib import Path

from saber.execution._staging import publish_outputs, stage_in


class _Store:
    """A storage that records fetches (an S3 stand-in: URLs under s3://b/root)."""

    url = "s3://b/root"

    def __init__(self, remote: Path) -> None:
        self.remote, self.fetched = remote, []

    def location(self, key: str, relpath: str = "") -> str:
        return f"{self.url}/{key}" + (f"/{relpath}" if relpath else "")

    def publish(self, local_dir: Path, key: str) -> str:
        import shutil

        shutil.copytree(local_dir, self.remote / key, dirs_exist_ok=True)
        return self.location(key)

    def fetch(self, url: str, dest: Path) -> Path:
        self.fetched.append(url)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes((self.remote / url.removeprefix(self.url + "/")).read_bytes())
        return dest


def _file(path: Path) -> dict:
    return {"class": "File", "location": path.as_uri(), "basename": path.name,
            "checksum": "sha1$" + hashlib.sha1(path.read_bytes()).hexdigest()}


def test_own_outputs_are_linked_and_others_fetched(tmp_path: Path) -> None:
    local, remote = tmp_path / "local", tmp_path / "remote"
    (local / "dag/run/make").mkdir(parents=True)
    (local / "dag/run/make/big.bin").write_bytes(b"x" * 1000)
    store = _Store(remote)
    outputs = publish_outputs({"out": _file(local / "dag/run/make/big.bin")}, local / "dag/run/make", store,
                              "dag/run/make")
    assert outputs["out"]["location"] == "s3://b/root/dag/run/make/big.bin" and "path" not in outputs["out"]
    staged = stage_in({"big": outputs["out"]}, store, tmp_path / "scratch", local_root=local)
    here = Path(staged["big"]["location"].removeprefix("file://"))
    assert here.read_bytes() == b"x" * 1000 and store.fetched == []
    assert here.stat().st_ino == (local / "dag/run/make/big.bin").stat().st_ino
    # another try (elsewhere) published other content: the local copy is not used
    (remote / "dag/run/make/big.bin").write_bytes(b"y" * 1000)
    other = dict(outputs["out"], checksum="sha1$" + hashlib.sha1(b"y" * 1000).hexdigest())
    staged = stage_in({"big": other}, store, tmp_path / "scratch2", local_root=local)
    assert Path(staged["big"]["location"].removeprefix("file://")).read_bytes() == b"y" * 1000
    assert store.fetched == ["s3://b/root/dag/run/make/big.bin"]
