"""`saber tools test`: run a tool's sample job in Docker with saber's step machinery (cwltool's
job runner, the one every workflow step uses) and check the outputs against the expectations
stored beside it (`<tool>.expect.yml`; its format is documented at the top of each file). With a
`bossdb:` key the job runs against a local Boss API server started for it (_sample_bossdb)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saber._yaml import plain, read_yaml
from saber.errors import SaberError
from saber.registry._catalog import Tool
from saber.registry._sample_bossdb import (
    SampleServer,
    check_channels,
    check_spec,
    sample_server,
)

__all__ = ["SampleResult", "check_expectations", "run_sample"]

_EXPECT_KEYS = ("outputs", "stdout_contains", "stdout_matches", "min_score", "bossdb")


@dataclass
class SampleResult:
    tool: str
    ok: bool
    seconds: float
    problems: list[str] = field(default_factory=list)
    score: float | None = None
    outputs: dict | None = None


def run_sample(tool: Tool, workdir: Path) -> SampleResult:
    """Run ``tool``'s sample job; a failed run or an unmet expectation is a problem, not a raise."""
    from saber.cwl import build_plan, load_process
    from saber.cwl._job import cwl_job_order
    from saber.execution import run_tool

    started = time.monotonic()
    if not tool.sample_job.is_file():
        return SampleResult(tool.name, False, 0.0, [f"no sample job {tool.sample_job}"])
    expect = _expectations(tool)
    process = load_process(tool.path)
    plan = build_plan(process, path=tool.path)
    job, floats = cwl_job_order(process, str(tool.sample_job))

    def run_and_check(server: SampleServer | None) -> SampleResult:
        if server is not None:  # the tool talks to the sample's own Boss API
            job.update(host_name=server.url, token=server.token)
        try:
            run = run_tool(plan["steps"][0], job, outdir=workdir / "out", workdir=workdir / "work", floats=floats)
        except SaberError as e:
            return SampleResult(tool.name, False, time.monotonic() - started, [f"the sample job failed: {e}"])
        stdout = [line for stream, line in run.lines if stream == "stdout"]
        problems, score = check_expectations(expect, run.outputs, stdout)
        if server is not None:
            problems += check_channels(server, expect["bossdb"].get("channels") or {})
        return SampleResult(tool.name, not problems, time.monotonic() - started, problems, score, run.outputs)

    if "bossdb" not in expect:
        return run_and_check(None)
    try:
        with sample_server(expect["bossdb"], tool.expectations.parent, workdir / "bossdb") as server:
            return run_and_check(server)
    except SaberError as e:  # the sample's channels could not be ingested
        return SampleResult(tool.name, False, time.monotonic() - started, [f"the sample's bossdb setup failed: {e}"])


def check_expectations(expect: dict, outputs: dict, stdout: list[str]) -> tuple[list[str], float | None]:
    """Problems of a run against its expectations, and the score stdout gave (if asked)."""
    problems = []
    for name, checks in (expect.get("outputs") or {}).items():
        value = outputs.get(name)
        if value is None:
            problems.append(f"output '{name}' is missing")
            continue
        problems += [f"output '{name}': {p}" for p in _check_value(value, checks or {})]
    text = "\n".join(stdout)
    for needle in expect.get("stdout_contains") or []:
        if str(needle) not in text:
            problems.append(f"stdout does not contain {needle!r}")
    score = None
    if fmt := expect.get("stdout_matches"):
        from saber.scores import ScoreFormat, match_score

        found = match_score(ScoreFormat.compile(fmt), [("stdout", line) for line in stdout])
        if found is None:
            problems.append(f"no stdout line matches {fmt!r}")
        else:
            score = found.score
            if "min_score" in expect and score < float(expect["min_score"]):
                problems.append(f"score {score:g} is below min_score {expect['min_score']}")
    return problems, score


def _check_value(value: Any, checks: dict) -> list[str]:
    out = []
    if "class" in checks and (not isinstance(value, dict) or value.get("class") != checks["class"]):
        out.append(f"expected a {checks['class']}, got {_kind(value)}")
    if "basename" in checks and (not isinstance(value, dict) or value.get("basename") != checks["basename"]):
        out.append(f"basename {value.get('basename') if isinstance(value, dict) else None!r}, "
                   f"expected {checks['basename']!r}")
    if "value" in checks and value != checks["value"]:
        out.append(f"value {value!r}, expected {checks['value']!r}")
    for bound, fails in (("min", lambda v, b: v < b), ("max", lambda v, b: v > b)):
        if bound in checks:
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                out.append(f"expected a number for {bound}, got {_kind(value)}")
            elif fails(value, checks[bound]):
                out.append(f"{value!r} is {'below' if bound == 'min' else 'above'} {bound} {checks[bound]}")
    return out


def _expectations(tool: Tool) -> dict:
    if not tool.expectations.is_file():
        return {}
    doc = plain(read_yaml(tool.expectations, "expectations file")) or {}
    unknown = [k for k in doc if k not in _EXPECT_KEYS]
    if unknown:
        from saber.errors import InputError

        raise InputError(f"unknown key '{unknown[0]}' (expected {', '.join(_EXPECT_KEYS)})",
                         file=str(tool.expectations))
    if "bossdb" in doc:
        check_spec(doc["bossdb"], tool.expectations)
    return doc


def _kind(value: Any) -> str:
    return value.get("class", "a mapping") if isinstance(value, dict) else type(value).__name__
