"""The build-context hash that images carry as a label: it follows every file Docker is sent,
and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from saber.registry._context import context_files, context_hash


@pytest.fixture
def context(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY tool.py /opt/\n")
    (tmp_path / "tool.py").write_text("print('hi')\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "util.py").write_text("X = 1\n")
    return tmp_path


def test_stable_for_the_same_files(context: Path) -> None:
    assert context_hash(context) == context_hash(context)
    assert len(context_hash(context)) == 64


@pytest.mark.parametrize("change", [
    pytest.param(lambda c: (c / "tool.py").write_text("print('ho')\n"), id="a-file-changed"),
    pytest.param(lambda c: (c / "extra.txt").write_text(""), id="a-file-added"),
    pytest.param(lambda c: (c / "lib" / "util.py").unlink(), id="a-file-removed"),
    pytest.param(lambda c: (c / "lib" / "util.py").rename(c / "lib" / "util2.py"), id="a-file-renamed"),
    pytest.param(lambda c: (c / "Dockerfile").write_text("FROM scratch\n"), id="the-dockerfile-changed"),
])
def test_changes_with_the_context(context: Path, change) -> None:
    before = context_hash(context)
    change(context)
    assert context_hash(context) != before


def test_a_file_moved_into_its_name_boundary_differs(tmp_path: Path) -> None:
    """Path and bytes are delimited: 'ab' holding 'c' is not 'a' holding 'bc'."""
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "ab").write_text("c")
    (two / "a").write_text("bc")
    assert context_hash(one) != context_hash(two)


def test_files_the_dockerignore_leaves_out_do_not_count(context: Path) -> None:
    (context / ".dockerignore").write_text("# caches\n__pycache__/\n*.pyc\n!keep.pyc\n")
    before = context_hash(context)
    (context / "__pycache__").mkdir()
    (context / "__pycache__" / "tool.cpython-312.pyc").write_bytes(b"\0")
    (context / "stray.pyc").write_bytes(b"\0")
    assert context_hash(context) == before
    (context / "keep.pyc").write_bytes(b"\0")  # an exception: sent, so counted
    (context / "lib" / "deep.pyc").write_bytes(b"\0")  # *.pyc matches at the top only, as Docker's
    assert context_files(context) == [".dockerignore", "Dockerfile", "keep.pyc", "lib/deep.pyc", "lib/util.py",
                                      "tool.py"]


def test_the_dockerfile_counts_even_when_ignored(context: Path) -> None:
    (context / ".dockerignore").write_text("Dockerfile\n")
    assert "Dockerfile" in context_files(context)
