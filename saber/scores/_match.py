"""Find a step's score in its tool's output: the last line that matches its ``score_format``.

A ``score_format`` is written in the ``parse`` library's format language ("F1: {score}") with a
required named field ``score``; other named fields are kept alongside the score.
"""

from __future__ import annotations

import datetime
import decimal
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import parse

from saber.errors import InputError

__all__ = ["ScoreFormat", "ScoreMatch", "check_score_format", "match_score"]

# parse's tokens: escaped braces, or one field. Splitting on them finds a bare `{score}`.
_TOKENS = re.compile(r"({{|}}|{[^{}]*})")
# An untyped field is lazy (".+?"): searched for, `{score}` would take "0" of "0.93". A bare
# `{score}` therefore matches a whole number; a typed one (`{score:g}`) keeps its own type.
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_NUMBER_TYPE = "saber_number"


@parse.with_pattern(_NUMBER)
def _number(text: str) -> float:
    return float(text)


@dataclass(frozen=True)
class ScoreMatch:
    """The line that gave a step its score."""

    score: float
    fields: dict[str, Any]  # the format's other named fields, as JSON values
    line: str
    stream: str  # "stdout" or "stderr"


@dataclass(frozen=True)
class ScoreFormat:
    """A compiled ``score_format``; build one with :meth:`compile`."""

    text: str
    _whole: parse.Parser = field(repr=False, compare=False)
    _inner: parse.Parser = field(repr=False, compare=False)

    @classmethod
    def compile(cls, text: str) -> ScoreFormat:
        """Raises ValueError when ``text`` does not compile or has no ``{score}`` field, TypeError
        when it is not a string."""
        if not isinstance(text, str):
            raise TypeError(f"must be a string, not {type(text).__name__} {text!r}")
        typed = "".join(f"{{score:{_NUMBER_TYPE}}}" if token == "{score}" else token
                        for token in _TOKENS.split(text))
        types = {_NUMBER_TYPE: _number}
        try:
            whole = parse.compile(typed, extra_types=types)
            # A leading catch-all lets a line carry text before the format while a trailing
            # untyped field still runs to the end of the line, as it does in an anchored parse.
            inner = parse.compile("{}" + typed, extra_types=types)
        except (ValueError, re.error) as e:  # parse raises ValueError subclasses; re its own
            raise ValueError(f"'{text}' is not a valid format: {e}") from e
        if "score" not in whole.named_fields:
            raise ValueError(f"'{text}' has no named field {{score}} (e.g. 'F1: {{score}}')")
        return cls(text, whole, inner)

    def match(self, line: str) -> tuple[float, dict[str, Any]] | None:
        """The score and other named fields of ``line``, or None when it does not match."""
        stripped = line.strip()
        attempts = ((self._whole.parse, stripped), (self._inner.parse, stripped), (self._whole.search, line))
        for result in (attempt(text) for attempt, text in attempts):
            if result is None:
                continue
            score = _as_float(result.named.get("score"))
            if score is not None:
                fields = {k: _json_value(v) for k, v in result.named.items() if k != "score"}
                return score, fields
        return None


def check_score_format(text: Any, *, file: str | None, line: int | None) -> ScoreFormat:
    """Compile a step's ``score_format`` hint; InputError at ``file:line`` when it is unusable."""
    try:
        return ScoreFormat.compile(text)
    except (TypeError, ValueError) as e:
        raise InputError(str(e), file=file, line=line, field="score_format") from e


def match_score(fmt: ScoreFormat, lines: Sequence[tuple[str, str]]) -> ScoreMatch | None:
    """The last of ``(stream, line)`` pairs that matches ``fmt``, or None when none does."""
    for stream, line in reversed(lines):
        if (found := fmt.match(line)) is not None:
            return ScoreMatch(score=found[0], fields=found[1], line=line, stream=stream)
    return None


def _as_float(value: Any) -> float | None:
    """A finite float, else None: "nan" or a word is no score."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _json_value(value: Any) -> Any:
    """parse gives ints, floats, strings, Decimals and date/times; XCom and JSON want plain data."""
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, (float, decimal.Decimal)):
        return float(value) if math.isfinite(value) else str(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)
