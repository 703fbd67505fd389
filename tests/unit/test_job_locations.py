"""A job's local Files and Directories are checked when the job is loaded, not when a step reads them."""

from __future__ import annotations

from pathlib import Path

import pytest
from saber_testing import yaml_writer

from saber.cwl._job import load_job
from saber.errors import InputError

PLAN = {"inputs": [{"id": "infile", "type": ["null", "File"]}, {"id": "indir", "type": ["null", "Directory"]},
                   {"id": "files", "type": {"type": "array", "items": "File"}}]}


@pytest.mark.parametrize("text, line, message", [
    pytest.param("infile: {class: File, path: nope.txt}\n", 1, r"File .*nope.txt does not exist", id="missing-file"),
    pytest.param("indir: {class: Directory, path: data.txt}\n", 1, r"data.txt is a file, not a Directory",
                 id="file-as-directory"),
    pytest.param("infile: {class: File, path: sub}\n", 1, r"sub is a directory, not a File", id="directory-as-file"),
    pytest.param("indir: {class: Directory, location: nowhere}\n", 1, r"nowhere does not exist",
                 id="missing-directory"),
    pytest.param("infile: {class: File, path: data.txt}\nfiles:\n  - {class: File, path: data.txt}\n"
                 "  - {class: File, path: gone.txt}\n", 2, r"gone.txt does not exist", id="in-an-array"),
    pytest.param("infile:\n  class: File\n  path: data.txt\n  secondaryFiles: [{class: File, path: data.idx}]\n", 1,
                 r"data.idx does not exist", id="secondary-file"),
])
def test_bad_locations(tmp_path: Path, text: str, line: int, message: str) -> None:
    (tmp_path / "data.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    job = yaml_writer(tmp_path, "job.yml")(text)
    with pytest.raises(InputError, match=message) as info:
        load_job(job, PLAN)
    assert (info.value.where.file, info.value.where.line) == (str(job), line)


def test_good_and_remote_locations_pass(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("x")
    job = yaml_writer(tmp_path, "job.yml")(
        "infile: {class: File, path: data.txt}\nindir: {class: Directory, path: .}\n"
        "files:\n  - {class: File, location: 'https://example.org/a.txt'}\n  - {class: File, contents: hi, basename: b}\n")
    assert load_job(job, PLAN)["infile"]["location"] == (tmp_path / "data.txt").as_uri()
