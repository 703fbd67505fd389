"""The tool registry: every `cwl_tools/<group>/<tool>.cwl`, its image from `dockerfiles/`, its
sample job and expectations beside it. Read from the YAML text (fast: no cwltool), so that
listing a hundred tools stays instant; `validate` adds cwltool's schema check."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saber._yaml import plain, read_yaml
from saber.errors import InputError

__all__ = ["Registry", "Tool", "find_root"]

_SIDE_FILES = (".job.yml", ".expect.yml")


@dataclass(frozen=True)
class Port:
    id: str
    type: Any
    doc: str | None
    line: int | None


@dataclass(frozen=True)
class Tool:
    """One registered tool, as its CWL file states it."""

    name: str  # group/tool
    path: Path
    doc: str | None
    image: str | None  # DockerRequirement dockerPull
    inputs: list[Port] = field(default_factory=list)
    outputs: list[Port] = field(default_factory=list)
    doc_node: Any = None  # the round-trip YAML, for lint's line numbers

    @property
    def version(self) -> str | None:
        return self.image.rsplit(":", 1)[1] if self.image and ":" in self.image.rsplit("/", 1)[-1] else None

    @property
    def sample_job(self) -> Path:
        return self.path.with_suffix(".job.yml")

    @property
    def expectations(self) -> Path:
        return self.path.with_suffix(".expect.yml")

    def to_json(self) -> dict:
        return {"name": self.name, "version": self.version, "image": self.image, "doc": self.doc,
                "path": str(self.path),
                "inputs": [{"id": p.id, "type": p.type, "doc": p.doc} for p in self.inputs],
                "outputs": [{"id": p.id, "type": p.type, "doc": p.doc} for p in self.outputs]}


def find_root(start: Path | None = None) -> Path:
    """The checkout holding cwl_tools/ and dockerfiles/: ``start`` or one of its parents."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "cwl_tools").is_dir() and (folder / "dockerfiles").is_dir():
            return folder
    raise InputError(f"no cwl_tools/ and dockerfiles/ in {here} or above: run this in a saber checkout "
                     "(or give --root)")


class Registry:
    """The tools under ``root``/cwl_tools, with their images under ``root``/dockerfiles."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tools_dir = root / "cwl_tools"
        self.images_dir = root / "dockerfiles"

    def paths(self) -> list[Path]:
        return sorted(p for p in self.tools_dir.rglob("*.cwl") if not p.name.endswith(_SIDE_FILES))

    def tools(self) -> list[Tool]:
        return [self.load(p) for p in self.paths()]

    def get(self, name: str) -> Tool:
        """By group/tool, by tool alone when that is unambiguous, or by path."""
        path = Path(name)
        if path.suffix == ".cwl" and path.is_file():
            return self.load(path)
        tools = self.tools()
        found = [t for t in tools if name in (t.name, t.name.rsplit("/", 1)[-1])]
        if len(found) == 1:
            return found[0]
        if not found:
            raise InputError(f"no tool '{name}' in {self.tools_dir} (tools: {', '.join(t.name for t in tools)})")
        raise InputError(f"'{name}' names several tools ({', '.join(t.name for t in found)}): give group/tool")

    def load(self, path: Path) -> Tool:
        doc = read_yaml(path, "CWL file")
        if not isinstance(doc, dict):
            raise InputError("a CWL tool must be a mapping", file=str(path), line=1)
        rel = path.resolve().relative_to(self.tools_dir.resolve()) if path.resolve().is_relative_to(
            self.tools_dir.resolve()) else Path(path.name)
        return Tool(name=str(rel.with_suffix("")), path=path, doc=_text(doc.get("doc") or doc.get("label")),
                    image=_docker_pull(doc), inputs=_ports(doc.get("inputs")), outputs=_ports(doc.get("outputs")),
                    doc_node=doc)

    def image_dir(self, image: str) -> Path | None:
        """dockerfiles/<name>/ for an image saber/<name>:<version>."""
        repo = image.rsplit(":", 1)[0]
        name = repo.rsplit("/", 1)[-1]
        folder = self.images_dir / name
        return folder if folder.is_dir() else None


def _docker_pull(doc: dict) -> str | None:
    for section in ("requirements", "hints"):
        reqs = doc.get(section) or {}
        items = reqs.items() if isinstance(reqs, dict) else ((r.get("class"), r) for r in reqs if isinstance(r, dict))
        for cls, body in items:
            if cls == "DockerRequirement" and isinstance(body, dict):
                return body.get("dockerPull") or body.get("dockerImageId")
    return None


def _ports(node: Any) -> list[Port]:
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = [(p.get("id"), p) for p in node if isinstance(p, dict)]
    else:
        return []
    out = []
    for i, (pid, body) in enumerate(items):
        line = _line_of(node, pid if isinstance(node, dict) else i)
        if isinstance(body, dict):
            out.append(Port(str(pid), plain(body.get("type")), _text(body.get("doc")), line))
        else:  # `name: type` shorthand
            out.append(Port(str(pid), plain(body), None, line))
    return out


def _line_of(node: Any, key: Any) -> int | None:
    try:
        return (node.lc.key(key) if isinstance(node, dict) else node.lc.item(key))[0] + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return None


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        return "\n".join(map(str, value))
    return str(value).strip() if value is not None else None
