"""`saber tools validate`: cwltool's schema check, then what the registry asks of every tool.
Every problem is reported with its file and line, all of them at once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saber.errors import InputError
from saber.registry._catalog import Registry, Tool, _line_of

__all__ = ["Problem", "lint", "validate"]


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


def validate(registry: Registry, paths: list[Path]) -> list[Problem]:
    """Schema and lint problems of the tools at ``paths`` (every tool when empty)."""
    problems: list[Problem] = []
    for path in paths or registry.paths():
        try:
            from saber.cwl import load_process

            load_process(path)
        except InputError as e:
            problems.append(Problem(e.where.file or str(path), e.where.line, e.message))
            continue
        problems.extend(lint(registry, registry.load(path)))
    return problems


def lint(registry: Registry, tool: Tool) -> list[Problem]:
    """What a registered tool must have beyond valid CWL (design.md §11)."""
    file = str(tool.path)
    doc = tool.doc_node
    out: list[Problem] = []

    def problem(message: str, line: int | None = None) -> None:
        out.append(Problem(file, line, message))

    if doc.get("class") != "CommandLineTool":
        problem("a registered tool must be a CommandLineTool", _line_of(doc, "class"))
    if not tool.doc:
        problem("the tool has no doc (what it does, its algorithm, its outputs)", 1)
    if tool.image is None:
        problem("no DockerRequirement with dockerPull: every tool runs in an image built from dockerfiles/",
                _line_of(doc, "requirements") or 1)
    else:
        where = _line_of(doc, "requirements") or _line_of(doc, "hints")
        folder = registry.image_dir(tool.image)
        if tool.version is None or tool.version == "latest":
            problem(f"image {tool.image} needs a version tag (not :latest): name:VERSION from "
                    "dockerfiles/<name>/VERSION", where)
        if folder is None:
            problem(f"image {tool.image} is not built from dockerfiles/ (no dockerfiles/"
                    f"{tool.image.rsplit(':', 1)[0].rsplit('/', 1)[-1]}/)", where)
        elif tool.version and (folder / "VERSION").is_file() and \
                (folder / "VERSION").read_text().strip() != tool.version:
            problem(f"image tag {tool.version} differs from {folder / 'VERSION'} "
                    f"({(folder / 'VERSION').read_text().strip()})", where)
    secrets = _secret_names(doc)
    for port in tool.inputs:
        if not port.doc:
            problem(f"input '{port.id}' has no doc", port.line)
        body = _port_body(doc.get("inputs"), port.id)
        if port.id in secrets and isinstance(body, dict) and "inputBinding" in body:
            problem(f"input '{port.id}' is a secret (cwltool:Secrets) but has an inputBinding: secrets reach the "
                    "container through the environment (EnvVarRequirement), never the command line",
                    _line_of(body, "inputBinding") or port.line)
    for name in sorted(secrets - {port.id for port in tool.inputs}):
        # a misspelt name would leave the real secret input unprotected, silently
        problem(f"cwltool:Secrets lists '{name}', which is not an input of this tool",
                _line_of(doc, "hints") or _line_of(doc, "requirements"))
    outputs = doc.get("outputs")
    for port in tool.outputs:
        body = _port_body(outputs, port.id)
        binding = body.get("outputBinding") if isinstance(body, dict) else None
        if not port.doc:
            problem(f"output '{port.id}' has no doc", port.line)
        if port.type not in ("stdout", "stderr") and not (isinstance(binding, dict) and binding.get("glob")):
            problem(f"output '{port.id}' has no outputBinding.glob", port.line)
    if not tool.sample_job.is_file():
        problem(f"no sample job {tool.sample_job.name} beside the tool (saber tools test runs it)")
    return out


_SECRETS = ("cwltool:Secrets", "http://commonwl.org/cwltool#Secrets")


def _secret_names(doc: dict) -> set[str]:
    """The input names the tool's cwltool:Secrets (a requirement or a hint) lists."""
    names: set[str] = set()
    for section in ("requirements", "hints"):
        reqs = doc.get(section) or {}
        items = reqs.items() if isinstance(reqs, dict) else ((r.get("class"), r) for r in reqs if isinstance(r, dict))
        for cls, body in items:
            if cls in _SECRETS and isinstance(body, dict) and isinstance(body.get("secrets"), list):
                names.update(str(n).rsplit("#", 1)[-1].rsplit("/", 1)[-1] for n in body["secrets"])
    return names


def _port_body(ports: Any, pid: str) -> Any:
    """An input's or output's mapping in the map or the list form of ``inputs``/``outputs``."""
    if isinstance(ports, dict):
        return ports.get(pid)
    return next((p for p in ports or [] if isinstance(p, dict) and p.get("id") == pid), None)
