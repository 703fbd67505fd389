"""A run's outputs in the outdir: hard links to run storage, copies across filesystems."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from saber.runs._outputs import export_outputs


@pytest.fixture
def stored(tmp_path: Path) -> dict:
    """An output object as a run leaves it: a File and a Directory (with a subfolder) in storage."""
    storage = tmp_path / "storage"
    (storage / "maps" / "deep").mkdir(parents=True)
    (storage / "report.txt").write_text("report")
    (storage / "maps" / "a.npy").write_bytes(b"a" * 100)
    (storage / "maps" / "deep" / "b.npy").write_bytes(b"b" * 100)
    return {"report": {"class": "File", "location": (storage / "report.txt").as_uri()},
            "maps": {"class": "Directory", "location": (storage / "maps").as_uri(), "listing": []}}


def _pairs(tmp_path: Path, out: dict) -> list[tuple[Path, Path]]:
    storage, placed = tmp_path / "storage", Path(out["maps"]["path"])
    return [(storage / "report.txt", Path(out["report"]["path"])),
            (storage / "maps" / "a.npy", placed / "a.npy"),
            (storage / "maps" / "deep" / "b.npy", placed / "deep" / "b.npy")]


def test_outputs_are_hard_links_to_run_storage(tmp_path: Path, stored: dict) -> None:
    out = export_outputs(stored, tmp_path / "outdir")
    assert out["report"]["location"] == (tmp_path / "outdir" / "report.txt").as_uri()
    for src, placed in _pairs(tmp_path, out):
        assert placed.read_bytes() == src.read_bytes()
        assert placed.stat().st_ino == src.stat().st_ino  # one copy on disk, not two


def test_across_filesystems_outputs_are_copied(tmp_path: Path, stored: dict,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def cross_device(src, dst, *args, **kwargs):
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), str(src), None, str(dst))

    monkeypatch.setattr(os, "link", cross_device)
    out = export_outputs(stored, tmp_path / "outdir")
    for src, placed in _pairs(tmp_path, out):
        assert placed.read_bytes() == src.read_bytes()
        assert placed.stat().st_ino != src.stat().st_ino


def test_a_file_two_outputs_name_is_placed_once(tmp_path: Path, stored: dict) -> None:
    """A Directory updated in place and listed by two outputs: one file in the outdir, as
    cwltool's relocation gives, not `report.txt` and `report_2.txt`."""
    both = {"a": [stored["report"]], "b": [dict(stored["report"])], "c": stored["maps"]}
    out = export_outputs(both, tmp_path / "outdir")
    assert out["a"][0]["location"] == out["b"][0]["location"] == (tmp_path / "outdir" / "report.txt").as_uri()
    assert sorted(p.name for p in (tmp_path / "outdir").iterdir()) == ["maps", "report.txt"]
