"""Matching a step's score_format against its tool's output lines: the last matching line wins."""

from __future__ import annotations

import pytest

from saber.errors import InputError
from saber.scores import ScoreFormat, ScoreMatch, check_score_format, match_score


def out(*lines: str) -> list[tuple[str, str]]:
    return [("stdout", line) for line in lines]


@pytest.mark.parametrize("fmt, line, score, fields", [
    pytest.param("F1: {score}", "F1: 0.93", 0.93, {}, id="untyped-trailing-field-whole-number"),
    pytest.param("F1: {score}", "INFO F1: 0.5", 0.5, {}, id="prefix-text"),
    pytest.param("F1: {score}", "  F1: 0.5  ", 0.5, {}, id="surrounding-blanks"),
    pytest.param("F1: {score}", "F1: 0.93 (best of 3)", 0.93, {}, id="trailing-text"),
    pytest.param("F1 is {score}.", "F1 is 0.93.", 0.93, {}, id="literal-after-the-field"),
    pytest.param("F1: {score}", "f1: 0.5", 0.5, {}, id="case-insensitive-like-parse"),
    pytest.param("F1: {score:f}", "F1: 0.93", 0.93, {}, id="typed-f"),
    pytest.param("F1: {score:g}", "F1: 1e-3", 0.001, {}, id="typed-g-scientific"),
    pytest.param("F1: {score:d}", "F1: 7", 7.0, {}, id="typed-d-as-float"),
    pytest.param("loss {score}", "loss 1.5E+3", 1500.0, {}, id="scientific-notation"),
    pytest.param("loss {score}", "loss -2.5", -2.5, {}, id="negative"),
    pytest.param("loss {score}", "loss .5", 0.5, {}, id="no-leading-digit"),
    pytest.param("epoch {epoch:d} F1: {score}", "epoch 3 F1: 0.5", 0.5, {"epoch": 3},
                 id="typed-extra-field"),
    pytest.param("epoch {epoch} F1: {score}", "INFO epoch 12 F1: 0.5", 0.5, {"epoch": "12"},
                 id="untyped-extra-field-after-prefix"),
    pytest.param("F1: {score}, tag {tag}", "F1: 0.5, tag best run", 0.5, {"tag": "best run"},
                 id="untyped-trailing-extra-field"),
    pytest.param("F1: {score}, tag {tag}", "INFO F1: 0.5, tag best run", 0.5, {"tag": "best run"},
                 id="untyped-trailing-extra-field-after-prefix"),
    pytest.param("at {when:ti} F1 {score}", "at 2024-01-02T03:04:05 F1 3", 3.0,
                 {"when": "2024-01-02T03:04:05"}, id="datetime-field-as-text"),
    pytest.param("{{score}} {score}", "{score} 7", 7.0, {}, id="escaped-braces"),
])
def test_match(fmt: str, line: str, score: float, fields: dict) -> None:
    found = match_score(ScoreFormat.compile(fmt), out("noise", line))
    assert found == ScoreMatch(score=pytest.approx(score), fields=fields, line=line, stream="stdout")


@pytest.mark.parametrize("fmt, line", [
    pytest.param("F1: {score}", "F1: abc", id="not-a-number"),
    pytest.param("F1: {score}", "F1 0.5", id="literal-differs"),
    pytest.param("F1: {score:g}", "F1: nan", id="nan-is-no-score"),
    pytest.param("F1: {score}", "F1: inf", id="inf-is-no-score"),
    pytest.param("F1: {score:f}", "F1: 1", id="typed-f-needs-a-point"),
])
def test_no_match(fmt: str, line: str) -> None:
    assert match_score(ScoreFormat.compile(fmt), out(line)) is None


def test_no_lines() -> None:
    assert match_score(ScoreFormat.compile("F1: {score}"), []) is None


def test_last_matching_line_wins() -> None:
    lines = out("loss 0.5", "F1: 0.25", "F1: 0.75", "done")
    assert match_score(ScoreFormat.compile("F1: {score}"), lines).score == 0.75


def test_arrival_order_decides_across_streams() -> None:
    fmt = ScoreFormat.compile("F1: {score}")
    stderr_last = [("stdout", "F1: 0.1"), ("stderr", "F1: 0.2"), ("stdout", "other")]
    assert match_score(fmt, stderr_last) == ScoreMatch(0.2, {}, "F1: 0.2", "stderr")
    stdout_last = [("stderr", "F1: 0.2"), ("stdout", "F1: 0.1")]
    assert match_score(fmt, stdout_last) == ScoreMatch(0.1, {}, "F1: 0.1", "stdout")


@pytest.mark.parametrize("text, message", [
    pytest.param("F1: {f1}", r"'F1: \{f1\}' has no named field \{score\}", id="no-score-field"),
    pytest.param("F1", r"has no named field \{score\}", id="no-field-at-all"),
    pytest.param("F1: {score", r"has no named field \{score\}", id="unclosed-brace"),
    pytest.param("F1: {{score}}", r"has no named field \{score\}", id="escaped-score"),
    pytest.param("F1: {score:zz}", r"'F1: \{score:zz\}' is not a valid format: format spec 'zz'",
                 id="unknown-type"),
    pytest.param("{score:d} {score:f}", r"is not a valid format: field type 'f'", id="clashing-types"),
    pytest.param(0.5, r"must be a string, not float 0\.5", id="not-a-string"),
])
def test_check_score_format(text: object, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        check_score_format(text, file="wf.cwl", line=12)
    assert (info.value.where.file, info.value.where.line, info.value.where.field) == (
        "wf.cwl", 12, "score_format")
    assert str(info.value).startswith("wf.cwl:12: field 'score_format': ")


def test_check_score_format_returns_the_compiled_format() -> None:
    fmt = check_score_format("F1: {score}", file=None, line=None)
    assert fmt.text == "F1: {score}" and fmt.match("F1: 0.5") == (0.5, {})
