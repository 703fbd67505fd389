"""Run data on S3 (a throw-away SeaweedFS): tasks stage their inputs from it and publish their
outputs to it as whole tries; the client uploads its local inputs once and downloads the final
outputs. Here on the embedded backend (the same conf reaches any deployment's workers)."""

from __future__ import annotations

import json
import os

import boto3
import pytest
from saber_testing import DATA, ROOT, needs_docker, run_saber, yaml_writer

from saber.storage import MARKER

pytestmark = [needs_docker, pytest.mark.docker, pytest.mark.slow, pytest.mark.s3]
CWL = DATA / "cwl"


def _keys(s3_env, bucket: str) -> list[str]:
    client = boto3.client("s3", endpoint_url=s3_env.env["AWS_ENDPOINT_URL"])
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def test_a_sweep_keeps_its_run_data_on_s3(saber_home, s3_env, tmp_path):
    bucket = s3_env.new_bucket()
    yaml_writer(tmp_path, "sweep.yml")("seed: [41]\nfactor: [1, 2]\n")
    env = {**s3_env.env}
    local = run_saber("run", str(CWL / "three_steps_wf.cwl"), str(tmp_path / "sweep.yml"), "--no-cache",
                      "--outdir", str(tmp_path / "local"))
    on_s3 = run_saber("run", str(CWL / "three_steps_wf.cwl"), str(tmp_path / "sweep.yml"), "--no-cache",
                      "--storage", f"s3://{bucket}/runs", "--outdir", str(tmp_path / "s3"), env=env)
    assert local.returncode == 0, local.stderr
    assert on_s3.returncode == 0, on_s3.stderr
    summary = json.loads((tmp_path / "s3" / "summary.json").read_text())
    texts = [(tmp_path / "s3" / f"point-{i:04d}" / "c.txt").read_text() for i in range(2)]
    assert texts == [(tmp_path / "local" / f"point-{i:04d}" / "c.txt").read_text() for i in range(2)]
    assert texts == ["4141x", "4141xx"]
    keys = _keys(s3_env, bucket)
    run_id = summary["points"][0]["dag_run_id"]
    for step, name in (("first", "a.txt"), ("second", "b.txt"), ("last", "c.txt")):
        prefix = f"runs/{summary['dag_id']}/{run_id}/{step}/"
        assert {prefix + name, prefix + MARKER} <= set(keys), keys
    # --no-download: summary.json names the outputs on S3
    kept = run_saber("run", str(CWL / "three_steps_wf.cwl"), str(tmp_path / "sweep.yml"),
                     "--storage", f"s3://{bucket}/runs", "--no-download", "--outdir", str(tmp_path / "kept"), env=env)
    assert kept.returncode == 0, kept.stderr
    result = json.loads((tmp_path / "kept" / "summary.json").read_text())["points"][0]["outputs"]["result"]
    assert result["location"].startswith(f"s3://{bucket}/runs/") and result["location"].endswith("/last/c.txt")


def test_local_inputs_are_uploaded_once_by_content(saber_home, s3_env, tmp_path):
    """A job's local files go to inputs/sha256/<digest>/ once, whatever the number of points or
    invocations; the tool reads them staged in from S3."""
    bucket = s3_env.new_bucket()
    (tmp_path / "a.txt").write_text("alpha\n")
    (tmp_path / "b.txt").write_text("beta\n")
    yaml_writer(tmp_path, "job.yml")(f"files:\n  - {{class: File, path: {tmp_path / 'a.txt'}}}\n"
                                     f"  - {{class: File, path: {tmp_path / 'b.txt'}}}\n")
    for name in ("one", "two"):
        result = run_saber("run", str(CWL / "cat.cwl"), "--job", str(tmp_path / "job.yml"), "--no-cache",
                           "--storage", f"s3://{bucket}", "--outdir", str(tmp_path / name), env=s3_env.env)
        assert result.returncode == 0, result.stderr
        assert (tmp_path / name / "point-0000" / "joined.txt").read_text() == "alpha\nbeta\n"
    inputs = [k for k in _keys(s3_env, bucket) if k.startswith("inputs/sha256/")]
    assert sorted(k.rsplit("/", 1)[-1] for k in inputs) == ["a.txt", "b.txt"], inputs


def test_an_unreachable_store_is_one_sentence(saber_home, tmp_path):
    yaml_writer(tmp_path, "job.yml")(f"files:\n  - {{class: File, path: {ROOT / 'README.md'}}}\n")
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
           "AWS_MAX_ATTEMPTS": "1", "AWS_DEFAULT_REGION": "us-east-1"}
    result = run_saber("run", str(CWL / "cat.cwl"), "--job", str(tmp_path / "job.yml"),
                       "--storage", "s3://nowhere-bucket/p", "--outdir", str(tmp_path / "o"), env=env)
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert "nowhere-bucket" in message and "Traceback" not in result.stderr, result.stderr
