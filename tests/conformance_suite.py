"""Run the CWL v1.2 conformance suite (../shared/cwl-v1.2 or $SABER_CWL_SUITE) with cwltest and
read its JUnit report: one record per test with its id, tags, outcome and seconds."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def suite_dir() -> Path | None:
    """The suite: $SABER_CWL_SUITE, else ../shared/cwl-v1.2 beside the checkout."""
    for candidate in (os.environ.get("SABER_CWL_SUITE"), ROOT.parent / "shared" / "cwl-v1.2",
                      Path("/work/shared/cwl-v1.2")):
        if candidate and (Path(candidate) / "conformance_tests.yaml").is_file():
            return Path(candidate)
    return None


@dataclass(frozen=True)
class Outcome:
    id: str
    tags: tuple[str, ...]
    result: str  # passed | failed | unsupported
    seconds: float
    message: str = ""


def run_cwltest(tool: str, report: Path, *, tags: str | None = None, jobs: int = 2, timeout: int = 600,
                extra: list[str] | None = None, env: dict | None = None) -> tuple[list[Outcome], float]:
    """Run cwltest over the suite with ``tool``; the outcomes and the wall seconds."""
    import time

    suite = suite_dir()
    if suite is None:
        raise FileNotFoundError("CWL conformance suite not found (set SABER_CWL_SUITE)")
    cmd = [str(Path(sys.executable).with_name("cwltest")), "--test", "conformance_tests.yaml", "--tool", tool,
           "-j", str(jobs), "--timeout", str(timeout), "--junit-xml", str(report)]
    if tags:
        cmd += ["--tags", tags]
    if extra:
        cmd += ["--", *extra]
    started = time.monotonic()
    subprocess.run(cmd, cwd=suite, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return read_report(report), time.monotonic() - started


def read_report(report: Path) -> list[Outcome]:
    outcomes = []
    for case in ET.parse(report).getroot().iter("testcase"):
        failure = case.find("failure")
        if failure is not None:
            result, message = "failed", failure.get("message") or failure.text or ""
        elif case.find("skipped") is not None:
            result, message = "unsupported", ""
        else:
            result, message = "passed", ""
        tags = tuple(t.strip() for t in (case.get("class") or case.get("category") or "").split(",") if t.strip())
        outcomes.append(Outcome(id=case.get("file") or case.get("name"), tags=tags, result=result,
                                seconds=float(case.get("time") or 0), message=message))
    return outcomes


def suite_tests(suite: Path) -> list[dict]:
    """Every test entry of the suite, its `$import`ed files included (as cwltest reads them)."""
    import ruamel.yaml

    def load(path: Path) -> list[dict]:
        out = []
        for entry in ruamel.yaml.YAML(typ="safe").load(path.read_text()) or []:
            if "$import" in entry:
                out += load(path.parent / entry["$import"])
            else:
                out.append(entry)
        return out

    return load(suite / "conformance_tests.yaml")
