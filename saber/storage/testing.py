"""The contract every storage keeps, as a reusable pytest suite (like ``optuna.testing``).

A storage's test module subclasses :class:`StorageContract` and provides two fixtures:

- ``storage``: a new, empty :class:`~saber.storage.Storage`;
- ``midway_failure``: a callable returning a context manager within which the storage's next
  ``publish`` raises after writing its first file (a try killed or failing midway).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from saber.errors import StorageError
from saber.storage import Storage

__all__ = ["BIG", "StorageContract", "make_tree", "read_tree"]

BIG = 20 * 1024 * 1024  # above boto3's multipart threshold (8 MiB)


def make_tree(root: Path, files: dict[str, bytes], empty_dirs: tuple[str, ...] = ()) -> Path:
    """Write ``files`` (relpath -> bytes) and ``empty_dirs`` under ``root``; ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    for rel in empty_dirs:
        (root / rel).mkdir(parents=True, exist_ok=True)
    return root


def read_tree(root: Path) -> tuple[dict[str, bytes], set[str]]:
    """(relpath -> bytes of every file, relpaths of empty folders) under ``root``."""
    files, empty = {}, set()
    for top, dirs, names in os.walk(root):
        rel = Path(top).relative_to(root).as_posix()
        if not dirs and not names and rel != ".":
            empty.add(rel)
        for name in names:
            files[(Path(top) / name).relative_to(root).as_posix()] = (Path(top) / name).read_bytes()
    return files, empty


class StorageContract:
    """Held by every storage: whole publishes, replacement, failed tries, inputs, URLs."""

    @pytest.fixture
    def tree(self, tmp_path: Path) -> Path:
        files = {"a.txt": b"alpha", "sub/b.txt": b"beta", "sub/deep/c d.bin": b"\0" * 10}
        return make_tree(tmp_path / "try-1", files, empty_dirs=("empty",))

    def test_a_published_folder_comes_back_whole(self, storage: Storage, tree: Path, tmp_path: Path) -> None:
        (tree / "big.bin").write_bytes(os.urandom(BIG))
        url = storage.publish(tree, "runs/r1/step/try")
        assert url == storage.location("runs/r1/step/try")
        assert storage.exists(url)
        assert read_tree(storage.fetch(url, tmp_path / "out")) == read_tree(tree)

    def test_a_file_or_subfolder_of_a_published_folder_comes_back(self, storage: Storage, tree: Path,
                                                                  tmp_path: Path) -> None:
        storage.publish(tree, "runs/r1/step")
        file_url = storage.location("runs/r1/step", "sub/deep/c d.bin")
        assert storage.exists(file_url)
        assert storage.fetch(file_url, tmp_path / "one" / "c.bin").read_bytes() == b"\0" * 10
        sub = storage.fetch(storage.location("runs/r1/step", "sub"), tmp_path / "sub")
        assert read_tree(sub) == ({"b.txt": b"beta", "deep/c d.bin": b"\0" * 10}, set())
        assert not any(tmp_path.glob(".*part*")), "fetch left a partial download behind"

    def test_a_second_publish_replaces_the_first(self, storage: Storage, tree: Path, tmp_path: Path) -> None:
        storage.publish(tree, "k")
        second = make_tree(tmp_path / "try-2", {"only.txt": b"2"})
        url = storage.publish(second, "k")
        assert read_tree(storage.fetch(url, tmp_path / "out")) == ({"only.txt": b"2"}, set())
        assert not storage.exists(storage.location("k", "a.txt"))

    def test_a_publish_failing_midway_leaves_nothing_readable(
            self, storage: Storage, tree: Path, tmp_path: Path,
            midway_failure: Callable[[], AbstractContextManager]) -> None:
        with midway_failure(), pytest.raises(Exception):
            storage.publish(tree, "half")
        url = storage.location("half")
        assert not storage.exists(url)
        assert not storage.exists(storage.location("half", "a.txt"))
        with pytest.raises(StorageError, match="half"):
            storage.fetch(url, tmp_path / "out")
        assert not (tmp_path / "out").exists()

    def test_a_failed_try_leaves_the_earlier_one_or_nothing(
            self, storage: Storage, tree: Path, tmp_path: Path,
            midway_failure: Callable[[], AbstractContextManager]) -> None:
        storage.publish(make_tree(tmp_path / "try-0", {"x.txt": b"x", "y/z.txt": b"z"}), "k")
        with midway_failure(), pytest.raises(Exception):
            storage.publish(tree, "k")
        try:
            fetched = read_tree(storage.fetch(storage.location("k"), tmp_path / "out"))
        except StorageError:
            assert not storage.exists(storage.location("k"))
        else:
            assert fetched == ({"x.txt": b"x", "y/z.txt": b"z"}, set())

    def test_nothing_published_is_refused_in_one_sentence(self, storage: Storage, tmp_path: Path) -> None:
        url = storage.location("never/published")
        assert not storage.exists(url)
        with pytest.raises(StorageError, match="never/published") as caught:
            storage.fetch(url, tmp_path / "out")
        assert "\n" not in str(caught.value)

    def test_delete_removes_a_published_folder(self, storage: Storage, tree: Path) -> None:
        url = storage.publish(tree, "gone")
        storage.delete("gone")
        assert not storage.exists(url)
        storage.delete("gone")  # twice is fine

    def test_inputs_come_back(self, storage: Storage, tmp_path: Path) -> None:
        data = make_tree(tmp_path / "in", {"reads.txt": b"ACGT", "ref/genome.fa": b">chr1\nAC"})
        file_url = storage.upload_input(data / "reads.txt")
        assert file_url == storage.upload_input(data / "reads.txt")
        assert storage.fetch(file_url, tmp_path / "f" / "reads.txt").read_bytes() == b"ACGT"
        dir_url = storage.upload_input(data / "ref")
        assert dir_url == storage.upload_input(data / "ref")
        assert read_tree(storage.fetch(dir_url, tmp_path / "d" / "ref")) == ({"genome.fa": b">chr1\nAC"}, set())

    def test_a_missing_input_is_a_user_error(self, storage: Storage, tmp_path: Path) -> None:
        from saber.errors import InputError

        with pytest.raises(InputError, match="nope.txt"):
            storage.upload_input(tmp_path / "nope.txt")

    @pytest.mark.parametrize("key", ["", "/abs", "a/../b", "./a", "a//b"])
    def test_a_key_stays_inside_the_root(self, storage: Storage, tmp_path: Path, key: str) -> None:
        with pytest.raises(ValueError, match="relative POSIX path"):
            storage.location(key)
        with pytest.raises(ValueError, match="relative POSIX path"):
            storage.publish(make_tree(tmp_path / "d", {"f": b""}), key)

    def test_a_folder_holding_the_marker_name_is_refused(self, storage: Storage, tmp_path: Path) -> None:
        with pytest.raises(StorageError, match="saber-complete"):
            storage.publish(make_tree(tmp_path / "d", {".saber-complete": b"{}"}), "k")

    def test_fetch_never_overwrites(self, storage: Storage, tree: Path, tmp_path: Path) -> None:
        url = storage.publish(tree, "k")
        (tmp_path / "taken").write_text("mine")
        with pytest.raises(StorageError, match="already exists"):
            storage.fetch(url, tmp_path / "taken")
        assert (tmp_path / "taken").read_text() == "mine"
