"""The CWL v1.2 conformance suite through saber-cwl-runner, beside the reference runner (cwltool).

Runs cwltest over the suite (../shared/cwl-v1.2 or $SABER_CWL_SUITE) twice with the same -j:
once with `saber-cwl-runner` (plan -> Airflow DAG -> DAG run), once with `cwltool`, and writes
docs/conformance.md: a per-tag table (passed / failed / unsupported), the wall times and their
ratio, and every saber failure with its written reason (bench/conformance_reasons.yaml).

    python bench/conformance.py [-j 2] [--tags required] [--no-reference] [--record]

--record rewrites tests/conformance/passing.txt (the CI gate) from this run's passing tests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conformance_suite import Outcome, run_cwltest, suite_dir

REASONS = Path(__file__).with_name("conformance_reasons.yaml")
RECORD = ROOT / "tests" / "conformance" / "passing.txt"
DOC = ROOT / "docs" / "conformance.md"


def tag_table(outcomes: list[Outcome]) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = defaultdict(lambda: {"passed": 0, "failed": 0, "unsupported": 0})
    for o in outcomes:
        for tag in (*o.tags, "all"):
            table[tag][o.result] += 1
    return table


def load_reasons() -> dict[str, str]:
    import ruamel.yaml

    if not REASONS.exists():
        return {}
    return {str(k): " ".join(str(v).split()) for k, v in (ruamel.yaml.YAML(typ="safe").load(REASONS) or {}).items()}


def _cell(counts: dict[str, int] | None) -> str:
    if not counts:
        return "–"
    total = sum(counts.values())
    return f"{counts['passed']}/{total} ({counts['failed']} failed, {counts['unsupported']} unsupported)"


def render(saber: list[Outcome], ref: list[Outcome] | None, walls: dict[str, float], jobs: int,
           tags: str | None) -> str:
    reasons = load_reasons()
    s_tab = tag_table(saber)
    r_tab = tag_table(ref) if ref else {}
    ref_result = {o.id: o.result for o in ref} if ref else {}
    order = ["required", *sorted(t for t in s_tab if t not in ("required", "all")), "all"]
    lines = [
        "# CWL v1.2 conformance",
        "",
        "Written by `bench/conformance.py` on " + time.strftime("%Y-%m-%d") + f": cwltest -j {jobs}"
        + (f", tags `{tags}`" if tags else ", the whole suite") + ", on this machine (2 cores), with the",
        "local image stand-ins of `scripts/conformance-images.sh`. saber runs every test through its real path:",
        "the process is compiled to a plan, emitted as an Airflow DAG and run as one DAG run, each step by",
        "saber's operator. The reference is cwltool on the same machine, same images, same `-j`.",
        "",
        "| tag | saber-cwl-runner | cwltool (reference) |",
        "|---|---|---|",
    ]
    for tag in order:
        if tag in s_tab:
            name = f"**{tag}**" if tag in ("required", "all") else tag
            lines.append(f"| {name} | {_cell(s_tab[tag])} | {_cell(r_tab.get(tag)) if ref else 'not run'} |")
    lines += ["", "## Wall time", ""]
    if "cwltool" in walls:
        lines.append(f"saber-cwl-runner {walls['saber']:.0f} s, cwltool {walls['cwltool']:.0f} s: "
                     f"ratio **{walls['saber'] / walls['cwltool']:.2f}** (per test: "
                     f"{walls['saber'] / len(saber):.1f} s vs {walls['cwltool'] / len(ref):.1f} s).")
    else:
        lines.append(f"saber-cwl-runner {walls['saber']:.0f} s ({walls['saber'] / len(saber):.1f} s per test); "
                     "the reference was not run.")
    if "load" in walls:
        lines.append(f"Load average (1 min): {walls['load']}.")
    lines += ["", "The calls go through the home's warm server, as users' do (`SABER_WARM`, README \"How it "
              "runs\"): Airflow is imported and the Execution API built once, not per test; every call "
              "still gets a throw-away home and runs as its own DAG run."]
    failed = [o for o in saber if o.result != "passed"]
    lines += ["", "## Tests saber does not pass", ""]
    if not failed:
        lines.append("None.")
    else:
        lines += ["| test | tags | saber | cwltool | reason |", "|---|---|---|---|---|"]
        for o in sorted(failed, key=lambda o: o.id):
            reason = reasons.get(o.id)
            if reason is None:
                reason = "**no written reason yet**" if ref_result.get(o.id) == "passed" else "cwltool fails it too"
            lines.append(f"| `{o.id}` | {', '.join(o.tags)} | {o.result} | {ref_result.get(o.id, '–')} | {reason} |")
    if ref:
        ref_only = sorted(o.id for o in ref if o.result != "passed")
        lines += ["", "## Tests the reference does not pass here", "",
                  ", ".join(f"`{i}`" for i in ref_only) or "None."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--tags", help="only these cwltest tags (comma-separated)")
    parser.add_argument("--timeout", type=int, default=600, help="per test, seconds (cwltest's default)")
    parser.add_argument("--no-reference", action="store_true", help="skip the cwltool run")
    parser.add_argument("--record", action="store_true", help="rewrite tests/conformance/passing.txt")
    parser.add_argument("--keep", type=Path, help="keep the JUnit reports in this folder")
    parser.add_argument("--from-reports", type=Path, metavar="DIR",
                        help="re-render docs/conformance.md from the reports a --keep run left in DIR "
                             "(saber.xml, cwltool.xml, walls.json), e.g. after adding a written reason")
    args = parser.parse_args()
    if suite_dir() is None:
        sys.exit("CWL conformance suite not found: set SABER_CWL_SUITE")
    if args.from_reports:
        import json

        from conformance_suite import read_report

        walls = json.loads((args.from_reports / "walls.json").read_text())
        saber = read_report(args.from_reports / "saber.xml")
        ref = read_report(args.from_reports / "cwltool.xml") if "cwltool" in walls else None
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(render(saber, ref, walls, walls["jobs"], walls.get("tags")))
        print(f"wrote {DOC}", file=sys.stderr)
        return 0
    bindir = Path(sys.executable).parent
    reports = args.keep or Path(tempfile.mkdtemp(prefix="saber-conformance-"))
    reports.mkdir(parents=True, exist_ok=True)
    walls: dict = {}
    ref = None
    load_start = os.getloadavg()[0]
    if not args.no_reference:
        print("reference: cwltool ...", file=sys.stderr)
        ref, walls["cwltool"] = run_cwltest(str(bindir / "cwltool"), reports / "cwltool.xml", tags=args.tags,
                                            jobs=args.jobs, timeout=args.timeout)
        print(f"  {sum(o.result == 'passed' for o in ref)}/{len(ref)} in {walls['cwltool']:.0f} s", file=sys.stderr)
    print("saber-cwl-runner ...", file=sys.stderr)
    saber, walls["saber"] = run_cwltest(str(bindir / "saber-cwl-runner"), reports / "saber.xml", tags=args.tags,
                                        jobs=args.jobs, timeout=args.timeout)
    print(f"  {sum(o.result == 'passed' for o in saber)}/{len(saber)} in {walls['saber']:.0f} s", file=sys.stderr)
    import json

    walls["load"] = f"{load_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"
    (reports / "walls.json").write_text(json.dumps({**walls, "jobs": args.jobs, "tags": args.tags}))
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render(saber, ref, walls, args.jobs, args.tags))
    print(f"wrote {DOC}", file=sys.stderr)
    if args.record:
        keep = set()
        if args.tags and RECORD.exists():  # a partial run keeps the record of the other tests
            ran = {o.id for o in saber}
            keep = {line.strip() for line in RECORD.read_text().splitlines() if line.strip()} - ran
        passing = sorted(keep | {o.id for o in saber if o.result == "passed"})
        RECORD.write_text("\n".join(passing) + "\n")
        print(f"recorded {len(passing)} passing tests in {RECORD}", file=sys.stderr)
    if not args.keep:
        shutil.rmtree(reports, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
