"""The step cache on real runs: a sweep that varies only the last step runs the first two
once; the same sweep again starts no container; --no-cache runs everything."""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest
from saber_testing import DATA, needs_docker, run_saber, yaml_writer

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow]


def _run(tmp_path, name: str, *extra: str) -> tuple[dict, int]:
    """`saber run` of the sweep; its summary and the containers Docker started meanwhile
    (streamed: the engine keeps only its last 256 events)."""
    events = subprocess.Popen(["docker", "events", "--filter", "event=start", "--format", "{{.ID}}"],
                              stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    try:
        result = run_saber("run", str(DATA / "cwl" / "three_steps_wf.cwl"), str(tmp_path / "sweep.yml"),
                           "--outdir", str(tmp_path / name), *extra)
        time.sleep(1.0)
    finally:
        events.terminate()
    started = len(events.communicate(timeout=30)[0].split())
    assert result.returncode == 0, result.stderr
    return json.loads((tmp_path / name / "summary.json").read_text()), started


def test_steps_run_once_per_distinct_input(saber_home, tmp_path):
    seed = uuid.uuid4().int % 10**6  # inputs no earlier test of this session ran
    yaml_writer(tmp_path, "sweep.yml")(f"seed: [{seed}]\nfactor: [1, 2, 3, 4]\n")
    summary, started = _run(tmp_path, "first")
    cached = [p["cached_steps"] for p in summary["points"]]
    assert started == 2 + 4, cached  # first and second once, last once per point
    # Which point runs a shared step is a race (one may run `first`, another `second`): each
    # shared step ran in exactly one point and came from the cache in the three others.
    assert [sum(step in c for c in cached) for step in ("first", "second", "last")] == [3, 3, 0], cached
    texts = [(tmp_path / "first" / f"point-{i:04d}" / "c.txt").read_text() for i in range(4)]
    assert texts == [f"{seed}{seed}" + "x" * n for n in (1, 2, 3, 4)]

    again, started = _run(tmp_path, "again")
    assert started == 0 and all(p["cached_steps"] == ["first", "last", "second"] for p in again["points"])
    assert [(tmp_path / "again" / f"point-{i:04d}" / "c.txt").read_text() for i in range(4)] == texts

    off, started = _run(tmp_path, "off", "--no-cache")
    assert started == 3 * 4 and all(p["cached_steps"] == [] for p in off["points"])


def test_in_place_update_is_one_directory_and_leaves_the_cache_alone(saber_home, tmp_path):
    """InplaceUpdateRequirement across steps (the CWL test modify_directory_content, as v1.1):
    the updated Directory stays one Directory, and the cached outputs of the step that made it
    are not changed by the update (they share inodes through hard links)."""
    word = f"w{uuid.uuid4().hex[:8]}"
    yaml_writer(tmp_path, "job.yml")(f"word: {word}\n")
    for name in ("first", "again"):
        result = run_saber("run", str(DATA / "cwl" / "in_place_wf.cwl"), "--job", str(tmp_path / "job.yml"),
                           "--outdir", str(tmp_path / name))
        assert result.returncode == 0, result.stderr
        summary = json.loads((tmp_path / name / "summary.json").read_text())
        outputs = summary["points"][0]["outputs"]
        for key in ("made", "updated"):
            assert sorted(f["basename"] for f in outputs[key]) == ["a.txt", "b.txt"], outputs
        assert {f["location"] for f in outputs["made"]} == {f["location"] for f in outputs["updated"]}
        texts = {f["basename"]: open(f["path"]).read() for f in outputs["made"]}
        assert texts == {"a.txt": word + "!", "b.txt": "new"}, (name, texts)
    assert "make" in summary["points"][0]["cached_steps"]
