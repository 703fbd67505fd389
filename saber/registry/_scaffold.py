"""`saber tools new GROUP/TOOL`: a tool that passes `saber tools validate` and `saber tools test`
as it is: its CWL, a script in the group's image, a sample job with a tiny input, expectations."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from saber.errors import InputError

__all__ = ["scaffold"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*/[a-z][a-z0-9_]*$")

_CWL = """\
cwlVersion: v1.2
class: CommandLineTool
label: {tool}
doc: |
  Scale a volume's intensities by `factor` and report their mean. (Scaffolded by
  `saber tools new`: replace this doc with what the tool does, its algorithm and outputs.)
requirements:
  DockerRequirement:
    dockerPull: saber/{group}:{version}
baseCommand: [python3, /opt/saber-tools/{group}/{tool}.py]
inputs:
  volume:
    type: File
    doc: Input volume, a NumPy .npy array in Z, Y, X order.
    inputBinding: {{prefix: --volume}}
  factor:
    type: float
    default: 2.0
    doc: Multiplier applied to every voxel.
    inputBinding: {{prefix: --factor}}
outputs:
  scaled:
    type: File
    doc: The scaled volume, float32 .npy, Z, Y, X.
    outputBinding: {{glob: scaled.npy}}
"""

_SCRIPT = '''\
"""{tool}: scale a volume by a factor and print its mean (scaffolded by `saber tools new`)."""

import argparse
import sys

import numpy as np


def scale(volume: np.ndarray, factor: float) -> np.ndarray:
    return volume.astype(np.float32) * np.float32(factor)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--volume", required=True)
    parser.add_argument("--factor", type=float, default=2.0)
    args = parser.parse_args(argv)
    out = scale(np.load(args.volume), args.factor)
    np.save("scaled.npy", out)
    print(f"mean: {{out.mean():.4f}}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

_DOCKERFILE = """\
# saber/{group}: tools of the '{group}' group (cwl_tools/{group}/). Build: saber tools build {group}
ARG BASE_IMAGE=python:3.12-slim
FROM ${{BASE_IMAGE}}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY requirements.txt /tmp/requirements.txt
RUN python3 -m pip install --no-cache-dir --only-binary=:all: -r /tmp/requirements.txt && rm /tmp/requirements.txt
COPY *.py /opt/saber-tools/{group}/
"""

_JOB = """\
# Sample job for {group}/{tool}: `saber tools test {group}/{tool}` runs it in Docker.
volume: {{class: File, path: samples/{tool}_input.npy}}
factor: 2.0
"""

_EXPECT = """\
# Expectations of the sample job, checked by `saber tools test` (format: see any
# cwl_tools/neuro/*.expect.yml): outputs present with class/basename, stdout text, a score.
outputs:
  scaled: {{class: File, basename: scaled.npy}}
stdout_matches: "mean: {{score}}"
min_score: {mean:.4f}
"""


def scaffold(root: Path, name: str) -> list[Path]:
    """Write the new tool's files under ``root``; returns them. Never overwrites a file."""
    if not _NAME.match(name):
        raise InputError(f"'{name}' is not a tool name: GROUP/TOOL, lower-case letters, digits and _ "
                         "(GROUP names the image, saber/GROUP)")
    group, tool = name.split("/")
    tools, image = root / "cwl_tools" / group, root / "dockerfiles" / group
    cwl = tools / f"{tool}.cwl"
    if cwl.exists():
        raise InputError(f"{cwl} already exists")
    version_file = image / "VERSION"
    version = version_file.read_text().strip() if version_file.is_file() else "0.1.0"
    sample = np.arange(4 * 4 * 4, dtype=np.uint8).reshape(4, 4, 4)
    files = {
        cwl: _CWL.format(group=group, tool=tool, version=version),
        tools / f"{tool}.job.yml": _JOB.format(group=group, tool=tool),
        tools / f"{tool}.expect.yml": _EXPECT.format(mean=float(sample.mean()) * 2.0),
        image / f"{tool}.py": _SCRIPT.format(tool=tool),
    }
    if not image.is_dir():
        files[image / "Dockerfile"] = _DOCKERFILE.format(group=group)
        files[image / "requirements.txt"] = "numpy>=1.26\n"
        # Not sent to Docker, so a cache an import leaves here does not make the image stale.
        files[image / ".dockerignore"] = "__pycache__/\n*.pyc\n"
        files[version_file] = version + "\n"
    written = []
    for path, text in files.items():
        if path.exists():
            raise InputError(f"{path} already exists")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    sample_path = tools / "samples" / f"{tool}_input.npy"
    sample_path.parent.mkdir(exist_ok=True)
    np.save(sample_path, sample)
    return [*written, sample_path]
