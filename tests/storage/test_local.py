"""The local folder keeps the storage contract; a publish is a rename of a whole folder."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from saber.storage import LocalStorage, storage_for
from saber.storage import _local
from saber.storage.testing import StorageContract, make_tree, read_tree


class TestLocalStorage(StorageContract):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> LocalStorage:
        return LocalStorage(root=tmp_path / "storage")

    @pytest.fixture
    def midway_failure(self, monkeypatch: pytest.MonkeyPatch):
        @contextmanager
        def failing():
            calls = []

            def link_once(src: str, dst: str) -> str:
                calls.append(src)
                if len(calls) > 1:
                    raise OSError(5, "Input/output error", src)
                return real(src, dst)

            real = _local._link_or_copy
            with monkeypatch.context() as m:
                m.setattr(_local, "_link_or_copy", link_once)
                yield

        return failing


def test_a_failed_publish_leaves_no_temporary_folder(tmp_path: Path) -> None:
    storage = LocalStorage(root=tmp_path / "storage")
    (tree := make_tree(tmp_path / "t", {"a": b"1"})).joinpath("loop").symlink_to("missing")
    with pytest.raises(Exception, match="cannot publish"):
        storage.publish(tree, "k")
    assert list((tmp_path / "storage").iterdir()) == []


def test_concurrent_publishes_of_one_key_leave_one_whole_try(tmp_path: Path) -> None:
    storage = LocalStorage(root=tmp_path / "storage")
    tries = [make_tree(tmp_path / f"t{i}", {f"f{i}/{j}": bytes([i]) for j in range(20)}) for i in range(6)]
    threads = [threading.Thread(target=storage.publish, args=(t, "k")) for t in tries]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    files, _ = read_tree(tmp_path / "storage" / "k")
    assert len({rel.split("/")[0] for rel in files}) == 1 and len(files) == 20
    assert [p.name for p in (tmp_path / "storage").iterdir()] == ["k"]


def test_an_input_is_read_where_it_is(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("x")
    assert LocalStorage(root=tmp_path / "s").upload_input(tmp_path / "x.txt") == (tmp_path / "x.txt").as_uri()


@pytest.mark.parametrize("url, root", [
    pytest.param("/data/runs", "/data/runs", id="path"),
    pytest.param("file:///data/my%20runs/", "/data/my runs", id="file-url"),
    pytest.param("file://localhost/data", "/data", id="localhost"),
])
def test_storage_for_a_local_url(url: str, root: str) -> None:
    storage = storage_for(url)
    assert isinstance(storage, LocalStorage) and storage.root == Path(root)
