"""CI gate: the `required` tests of the CWL v1.2 conformance suite, run by cwltest through
`saber-cwl-runner` (plan -> Airflow DAG -> DAG run -> saber's operator), must not regress from
what tests/conformance/passing.txt records."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from saber_testing import needs_docker

from conformance_suite import read_report, run_cwltest, suite_dir, suite_tests

RECORD = Path(__file__).with_name("passing.txt")


def recorded_passing() -> set[str]:
    return {line.split("#")[0].strip() for line in RECORD.read_text().splitlines()} - {""}


def test_record_names_real_tests():
    """A typo in the record would silently shrink the gate."""
    suite = suite_dir()
    if suite is None:
        pytest.skip("CWL conformance suite not found")
    tests = suite_tests(suite)
    assert len(tests) == 378
    assert sum("required" in t.get("tags", []) for t in tests) == 84
    assert recorded_passing() - {t["id"] for t in tests} == set()


def test_report_reader(tmp_path):
    report = tmp_path / "r.xml"
    report.write_text("""<testsuites><testsuite name="cwltest" tests="3">
      <testcase name="a doc" file="t_pass" class="required, command_line_tool" time="1.5"/>
      <testcase name="b doc" file="t_fail" class="workflow" time="2"><failure message="Returned non-zero"/></testcase>
      <testcase name="c doc" file="t_unsup" class="inline_javascript" time="0.1"><skipped message="Unsupported"/></testcase>
    </testsuite></testsuites>""")
    got = {o.id: (o.result, o.tags, o.seconds) for o in read_report(report)}
    assert got == {"t_pass": ("passed", ("required", "command_line_tool"), 1.5),
                   "t_fail": ("failed", ("workflow",), 2.0),
                   "t_unsup": ("unsupported", ("inline_javascript",), 0.1)}


@needs_docker
@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_required_conformance_does_not_regress(tmp_path):
    if suite_dir() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the conformance gate, but the CWL v1.2 suite is not at "
                        "../shared/cwl-v1.2 (or $SABER_CWL_SUITE)")
        pytest.skip("CWL conformance suite not found (set SABER_CWL_SUITE)")
    runner = shutil.which("saber-cwl-runner", path=str(Path(sys.executable).parent))
    assert runner, "saber-cwl-runner is not installed next to this Python"
    # Through the warm server, as users call it (the rest of the suite turns it off); it exits
    # once the gate is done (idle) or its home is gone.
    home = tmp_path / "home"
    env = {**os.environ, "SABER_WARM": "1", "SABER_WARM_IDLE": "10", "SABER_HOME": str(home)}
    outcomes, wall = run_cwltest(runner, tmp_path / "required.xml", tags="required", jobs=os.cpu_count() or 2,
                                 timeout=300, env=env)
    log = home / "warm.log"
    assert log.exists() and " ready " in log.read_text(), "the calls did not go through a warm server"
    assert len(outcomes) == 84, f"expected the 84 required tests, cwltest reported {len(outcomes)}"
    failed = {o.id: o for o in outcomes if o.result != "passed"}
    regressed = sorted(recorded_passing() & set(failed))
    print(f"required: {len(outcomes) - len(failed)}/{len(outcomes)} passed in {wall:.0f} s")
    assert not regressed, "conformance tests that used to pass now fail:\n" + "\n".join(
        f"  {name}: {failed[name].message}" for name in regressed)
