"""cwltool's validation errors as one InputError: the first problem, whole, at its file:line.

schema-salad reports a tree (checking field 'steps' > checking object '#say' > the problem) and
keeps validating after the first problem, so later leaves are often consequences of the first
(a step whose `run:` file is missing has no outputs for the next step's `source`). cwltool's
workflow checker reports flat text instead, one problem over several places ("Source 'a' …
is incompatible" at the source, "with sink 'b' …" indented under it at the sink).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from saber.errors import InputError

__all__ = ["as_input_error"]

# cwltool/schema-salad prefix each problem with "file.cwl:LINE:COL:".
_PLACE = re.compile(r"^[ \t]*(?:file://)?(?P<file>[^\s:][^:\n]*):(?P<line>\d+):(?P<col>\d+):[ \t]*(?P<msg>.*)$", re.M)
_FIELD = re.compile(r"field [`'\"](?P<field>[\w$]+)[`'\"]", re.I)
# schema-salad's lines that only say where it was looking.
_CONTEXT = re.compile(
    r"^(?:\s*(?:checking (?:field|object) (?:'[^']*'|`[^`]*`)(?: using `[^`]*`)?|checking item))+\s*")
_LINK = re.compile(r"Field [`'\"](?:source|outputSource)[`'\"] references unknown identifier")
_VERSION = re.compile(
    r"is a development or deprecated version|no longer supports pre CWL v1\.0|Unrecognized version")
_DEFINITION = re.compile(r"Tool definition (?:file://)?(?P<file>\S+) failed validation")
_SUPPORTED = ("v1.0", "v1.1", "v1.2")


@dataclass(frozen=True)
class _Problem:
    file: str | None
    line: int | None
    message: str
    context: tuple[str, ...] = ()  # the "checking …" messages around it, outermost first


def as_input_error(error: BaseException, path: Path) -> InputError:
    """The InputError for cwltool's ``error`` while loading ``path``."""
    text = str(error)
    if _VERSION.search(text):
        return _version_error(text, path)
    problem = _first_leaf(error) or _first_in_text(text)
    if problem is None:
        return InputError(_tidy(text), file=path)
    field = None
    for line in (problem.message, *reversed(problem.context)):
        if found := _FIELD.findall(line):
            field = found[-1]
            break
    return InputError(_tidy(problem.message), file=_resolve_file(problem.file, path) if problem.file else path,
                      line=problem.line, field=field)


def _first_leaf(error: BaseException) -> _Problem | None:
    """The first problem of the schema-salad exception in ``error``'s chain (cwltool wraps
    them: "Tool definition … failed validation")."""
    from schema_salad.exceptions import SchemaSaladException

    salad: BaseException | None = error
    while salad is not None and not isinstance(salad, SchemaSaladException):
        salad = salad.__cause__
    if salad is None:
        return None
    paths = list(_leaf_paths(salad))
    if not paths:
        return None
    # The tree is not in document order (links are checked after the rest), and an unknown
    # source is often only the consequence of another problem: a step whose run file is missing
    # has no outputs to link to. Such links come last, the rest in the order of the file.
    path = min(paths, key=lambda p: (bool(_LINK.search(p[-1].message)), *_position(p[-1])))
    leaf = path[-1]
    message = leaf.detailed_message or leaf.message
    if _PLACE.search(message):  # the checker's flat text: places are inside the message
        return _first_in_text(message)
    context = tuple(e.message for e in path[:-1] if e.message)
    return _Problem(leaf.file, leaf.start[0] if leaf.file and leaf.start else None, message, context)


def _position(leaf) -> tuple[int, int]:
    line, col = leaf.start or (None, None)
    return (line if line is not None else 1 << 30, col or 0)


def _leaf_paths(error, above: tuple = ()):
    """For each leaf of ``error`` that is not a warning: the exceptions from the root to it."""
    if not error.children:
        if error.message and not error.is_warning:
            yield (*above, error)
        return
    for child in error.children:
        yield from _leaf_paths(child, (*above, error))


def _first_in_text(text: str) -> _Problem | None:
    """The first problem of a message of "file:line:col: text" lines: the one at the earliest
    place (cwltool's checker lists them in no fixed order), with the lines indented under it
    (the rest of that problem, at other places)."""
    places = list(_PLACE.finditer(text))
    # A place's message runs on over the unprefixed lines that follow it.
    entries = [(m, _CONTEXT.sub("", m.group("msg") + text[m.end():nxt.start() if nxt else len(text)]))
               for m, nxt in zip(places, [*places[1:], None])]
    problems = []
    i = 0
    while i < len(entries):
        head, message = entries[i]
        j = i + 1
        while j < len(entries) and _column(entries[j][0]) > _column(head):
            j += 1
        if message.strip():
            where = [(int(m.group("line")), int(m.group("col"))) for m, _ in entries[i:j]]
            context = tuple(m.group("msg") for m, _ in entries[:i])
            problems.append((where, _Problem(head.group("file"), int(head.group("line")),
                                             " ".join(msg for _, msg in entries[i:j]), context)))
            i = j
        else:  # "checking …" only: the lines under it hold the problems
            i += 1
    return min(problems, key=lambda p: p[0])[1] if problems else None


def _column(place: re.Match) -> int:
    return place.start("msg") - place.start()


def _version_error(text: str, path: Path) -> InputError:
    """cwltool's advice (--enable-dev, its list of dev versions) is for cwltool's own users."""
    from saber._yaml import key_line, read_yaml

    defined = _DEFINITION.search(text)
    file = Path(unquote(defined.group("file"))) if defined else path
    version, line = "?", None
    try:
        doc = read_yaml(file, "CWL file")
        version, line = str(doc.get("cwlVersion", version)), key_line(doc, "cwlVersion")
    except (InputError, AttributeError):
        pass  # cwltool read it; the message below needs no more than the file
    upgrade = " (cwl-upgrader upgrades draft-3 documents)" if version.startswith("draft") else ""
    return InputError(f"{version!r} is not supported: saber runs CWL {', '.join(_SUPPORTED[:-1])} and "
                      f"{_SUPPORTED[-1]}{upgrade}", file=file, line=line, field="cwlVersion")


def _resolve_file(name: str, origin: Path) -> str:
    """cwltool prints paths relative to the cwd or the document; show one a user can open."""
    for candidate in (Path(name), origin.parent / name):
        if candidate.exists():
            if candidate.resolve() == origin.resolve():
                return str(origin)
            return str(candidate.resolve())
    return name


def _tidy(text: str) -> str:
    text = _LOADER_ID.sub("", " ".join(text.split()))
    return _NOT_A_MAPPING.sub(_not_a_mapping, text)[:2000]


_LOADER_ID = re.compile(r"\(\d+\) \([^)\s]*\) ")  # schema-salad's "(140022583273536) (file:///x.cwl) "
_NOT_A_MAPPING = re.compile(r"workflowjobj must be a dict, got <class '[\w.]*?(\w+)'>.*")


def _not_a_mapping(match: re.Match) -> str:
    kind = {"CommentedSeq": "a list", "list": "a list"}.get(match.group(1), "a single value")
    return f"a CWL document must be a mapping (class, cwlVersion, inputs, outputs, ...), not {kind}"
