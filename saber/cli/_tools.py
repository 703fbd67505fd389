"""saber tools list|show|validate|build|test|new: the registry of dockerized CWL tools."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

HELP = """The tool registry: every cwl_tools/<group>/<tool>.cwl with its image built from
dockerfiles/<group>/, a sample job (<tool>.job.yml) and expectations (<tool>.expect.yml).

Each image carries the sha256 of its build context (dockerfiles/<group>/) as the label
saber.context-sha256: `build` rebuilds an image that is missing or whose context changed since
it was built (`build --force`: always), and `test` refuses a stale image (or one built by hand,
without the label) until it is rebuilt."""

EXAMPLES = """examples:
  saber tools list
  saber tools show neuro/detect_cells
  saber tools validate                      # every tool: schema + lint, each problem with file:line
  saber tools build --all && saber tools test --all
  saber tools build mylab --force           # rebuild even an image that is current
  saber tools new mylab/denoise             # then: saber tools build mylab && saber tools test mylab/denoise
See CONTRIBUTING.md for adding a tool, start to merged."""


def add_parser(sub) -> None:
    p = sub.add_parser("tools", help="list, check, build, test and scaffold dockerized CWL tools",
                       description=HELP, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", type=Path, help="the checkout holding cwl_tools/ and dockerfiles/ (default: here)")
    tsub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = tsub.add_parser("list", help="name, version, image, inputs, outputs, doc")
    ls.add_argument("--format", choices=("table", "json"), default="table")
    show = tsub.add_parser("show", help="one tool in full")
    show.add_argument("name", help="GROUP/TOOL (or TOOL when unambiguous)")
    val = tsub.add_parser("validate", help="schema and lint; exit 2 listing every problem")
    val.add_argument("paths", nargs="*", type=Path, help="tool .cwl files (default: every tool)")
    for action, what, more in (
            ("build", "build the images that are missing or stale (--force: every one named)",
             "Build saber/<group>:<VERSION> from dockerfiles/<group>/ when the image is missing or its "
             "label saber.context-sha256 differs from the hash of the folder now (a file changed, was "
             "added or removed); an image whose label matches is left as it is, unless --force."),
            ("test", "run sample jobs and check expectations (refuses stale images)",
             "Run each tool's sample job in its image and check the expectations; an image that is "
             "missing or stale (built from an older dockerfiles/<group>/, or by hand) is refused "
             "before anything runs: `saber tools build <group>` first.")):
        q = tsub.add_parser(action, help=what, description=more)
        q.add_argument("names", nargs="*", help="GROUP for build, GROUP/TOOL for test")
        q.add_argument("--all", action="store_true", help="every image / every tool")
        if action == "build":
            q.add_argument("--force", action="store_true",
                           help="rebuild even an image that is current (its context unchanged)")
    new = tsub.add_parser("new", help="scaffold a tool that passes validate and test as it is")
    new.add_argument("name", help="GROUP/TOOL")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from saber.registry import Registry, find_root

    registry = Registry(find_root(args.root))
    return {"list": _list, "show": _show, "validate": _validate, "build": _build, "test": _test,
            "new": _new}[args.action](registry, args)


def _list(registry, args) -> int:
    tools = registry.tools()
    if args.format == "json":
        print(json.dumps([t.to_json() for t in tools], indent=2, default=str))
        return 0
    table = Table(title=f"tools in {registry.tools_dir}")
    for column in ("name", "version", "inputs", "outputs", "doc"):
        table.add_column(column)
    for t in tools:
        table.add_row(t.name, t.version or "", ", ".join(p.id for p in t.inputs), ", ".join(p.id for p in t.outputs),
                      escape((t.doc or "").splitlines()[0] if t.doc else ""))
    Console(highlight=False).print(table)
    return 0


def _show(registry, args) -> int:
    tool = registry.get(args.name)
    out = Console(highlight=False)
    out.print(f"[bold]{tool.name}[/] {tool.version or ''}  image {tool.image}  ({tool.path})")
    out.print(escape(tool.doc or "(no doc)"))
    for title, ports in (("inputs", tool.inputs), ("outputs", tool.outputs)):
        table = Table(title=title)
        for column in ("id", "type", "doc"):
            table.add_column(column)
        for p in ports:
            table.add_row(p.id, escape(json.dumps(p.type) if not isinstance(p.type, str) else p.type),
                          escape(p.doc or ""))
        out.print(table)
    out.print(f"sample job: {tool.sample_job if tool.sample_job.is_file() else 'none'}")
    return 0


def _validate(registry, args) -> int:
    from saber.registry import validate

    problems = validate(registry, [p.resolve() for p in args.paths])
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    for p in problems:
        err.print(escape(str(p)))
    count = len(args.paths) or len(registry.paths())
    err.print(f"{count} tool(s): " + (f"[red]{len(problems)} problem(s)[/]" if problems else "[green]valid[/]"))
    return 2 if problems else 0


def _build(registry, args) -> int:
    from saber.errors import InputError
    from saber.registry._images import build_image, image_dirs

    if args.all:
        folders = image_dirs(registry.images_dir)
    elif args.names:
        folders = [registry.images_dir / n for n in args.names]
        for f in folders:
            if not (f / "Dockerfile").is_file():
                raise InputError(f"no {f}/Dockerfile (images: {', '.join(p.name for p in registry.images_dir.iterdir())})")
    else:
        raise InputError("give image names (dockerfiles/<name>) or --all")
    err = Console(stderr=True, highlight=False)
    for folder in folders:
        tag, outcome = build_image(folder, force=args.force)
        err.print(f"{tag}: {outcome}")
    return 0


def _test(registry, args) -> int:
    from saber.errors import InputError
    from saber.registry._sample import run_sample

    if args.all:
        tools = registry.tools()
    elif args.names:
        tools = [registry.get(n) for n in args.names]
    else:
        raise InputError("give tool names (GROUP/TOOL) or --all")
    _require_current_images(registry, tools)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="saber-tools-test-") as tmp:
        for i, tool in enumerate(tools):
            result = run_sample(tool, Path(tmp) / str(i))
            failed += not result.ok
            score = f", score {result.score:g}" if result.score is not None else ""
            err.print(f"{'[green]ok[/]' if result.ok else '[red]FAIL[/]'}  {tool.name}  ({result.seconds:.1f} s{score})")
            for problem in result.problems:
                err.print(f"      {escape(problem)}")
    err.print(f"{len(tools) - failed} of {len(tools)} tool(s) passed")
    return 1 if failed else 0


def _require_current_images(registry, tools) -> None:
    """Before any sample runs: a test in an image older than its scripts would pass or fail for
    the old code. Only the registry's own images (a tag its VERSION names) are judged here."""
    from saber.registry._images import image_tag, require_current

    for image in sorted({t.image for t in tools if t.image}):
        folder = registry.image_dir(image)
        if folder is not None and (folder / "VERSION").is_file() and image_tag(folder) == image:
            require_current(folder, image)


def _new(registry, args) -> int:
    from saber.registry._scaffold import scaffold

    files = scaffold(registry.root, args.name)
    err = Console(stderr=True, highlight=False)
    for f in files:
        err.print(f"wrote {f}")
    group = args.name.split("/")[0]
    err.print(f"next: saber tools validate && saber tools build {group} && saber tools test {args.name}")
    return 0
