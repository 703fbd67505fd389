from __future__ import annotations

from typing import Any

import pytest

from saber.cwl._types import coerce, type_name
from saber.errors import InputError

ENUM = {"type": "enum", "symbols": ["file:///w.cwl#step/in/a", "file:///w.cwl#step/in/b"]}
RECORD = {"type": "record", "fields": [
    {"name": "file:///w.cwl#r/size", "type": "int"},
    {"name": "file:///w.cwl#r/label", "type": ["null", "string"]},
]}
INTS = {"type": "array", "items": "int"}
FILE = {"class": "File", "path": "a.txt"}


@pytest.mark.parametrize("value, cwl_type, expected", [
    pytest.param(3, "int", 3, id="int"),
    pytest.param(2**40, "long", 2**40, id="long"),
    # An int stays an int, as cwltool keeps it: `1`, not `1.0`, on the tool's command line.
    pytest.param(3, "float", 3, id="int-is-a-float"),
    pytest.param(3, "double", 3, id="int-is-a-double"),
    pytest.param(0.25, "double", 0.25, id="double"),
    pytest.param(True, "boolean", True, id="boolean"),
    pytest.param("x", "string", "x", id="string"),
    pytest.param(None, ["null", "int"], None, id="optional-null"),
    pytest.param(4, ["null", "int"], 4, id="optional-int"),
    pytest.param(3, ["float", "int"], 3, id="union-prefers-exact-int"),
    pytest.param(3, ["null", "float"], 3, id="union-int-for-only-float"),
    pytest.param("3", ["int", "string"], "3", id="union-string"),
    pytest.param({"k": [1]}, "Any", {"k": [1]}, id="any"),
    pytest.param("b", ENUM, "b", id="enum-uri-symbols"),
    pytest.param("file:///other.cwl#x/b", ENUM, "b", id="enum-compares-short-names"),
    pytest.param([1, 2], INTS, [1, 2], id="array"),
    pytest.param([], INTS, [], id="empty-array"),
    pytest.param({"size": 2}, RECORD, {"size": 2}, id="record-optional-field-absent"),
    pytest.param({"size": 2, "label": "s"}, RECORD, {"size": 2, "label": "s"}, id="record"),
    pytest.param(FILE, "File", FILE, id="file-path"),
    pytest.param({"class": "File", "location": "s3://b/k"}, "File",
                 {"class": "File", "location": "s3://b/k"}, id="file-location"),
    pytest.param({"class": "File", "contents": "hi"}, "File",
                 {"class": "File", "contents": "hi"}, id="file-contents"),
    pytest.param({"class": "Directory", "path": "d"}, "Directory",
                 {"class": "Directory", "path": "d"}, id="directory"),
    pytest.param([FILE], {"type": "array", "items": "File"}, [FILE], id="file-array"),
])
def test_coerce_accepts(value: Any, cwl_type: Any, expected: Any) -> None:
    result = coerce(value, cwl_type)
    assert result == expected and type(result) is type(expected)
    assert type(result) is type(expected)


@pytest.mark.parametrize("value, cwl_type, message", [
    pytest.param(True, "int", r"expected int, got boolean True$", id="bool-is-not-int"),
    pytest.param(2.0, "int", r"expected int, got float 2\.0 \(write 2 for an int\)",
                 id="integral-float-is-not-int"),
    pytest.param(2.5, "long", r"expected long, got float 2\.5", id="float-is-not-long"),
    pytest.param(2**31, "int", r"outside the int range \(declare it long\)", id="int-overflow"),
    pytest.param("1", "float", r"expected float, got string '1'", id="string-is-not-float"),
    pytest.param(False, "double", r"expected double, got boolean False", id="bool-is-not-double"),
    pytest.param(1, "string", r"expected string, got int 1", id="int-is-not-string"),
    pytest.param(None, "int", r"expected int, got null \(the input is not optional\)",
                 id="null-for-required"),
    pytest.param(None, "Any", r"expected Any, got null", id="null-is-not-any"),
    pytest.param(1, "null", r"expected null, got int 1", id="int-is-not-null"),
    pytest.param("a.txt", "File", r"expected File, got string 'a\.txt' "
                 r"\(write a mapping \{class: File, path: \.\.\.\}\)", id="file-needs-mapping"),
    pytest.param({"class": "File"}, "File", r"a File needs path, location or contents",
                 id="file-needs-path"),
    pytest.param({"class": "Directory", "path": "d"}, "File", r"'class' must be File",
                 id="file-wrong-class"),
    pytest.param({"class": "Directory", "contents": "x"}, "Directory",
                 r"a Directory needs path or location", id="directory-has-no-contents"),
    pytest.param("c", ENUM, r"expected enum\(a, b\), got string 'c'", id="enum-unknown-symbol"),
    pytest.param([1, "x"], INTS, r"item 1: expected int, got string 'x'", id="array-item"),
    pytest.param(1, INTS, r"expected int\[\], got int 1", id="array-needs-list"),
    pytest.param({"size": 1, "colour": "red"}, RECORD, r"unknown field 'colour'",
                 id="record-unknown-field"),
    pytest.param({"label": "s"}, RECORD, r"missing field 'size' \(int\)", id="record-missing"),
    pytest.param({"size": "big"}, RECORD, r"field 'size': expected int, got string 'big'",
                 id="record-field-type"),
    pytest.param([1], ["int", "string"], r"expected int \| string, got list \[1\]",
                 id="union-no-member"),
    pytest.param(1, "Widget", r"unsupported CWL type 'Widget'", id="unknown-type"),
])
def test_coerce_rejects(value: Any, cwl_type: Any, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        coerce(value, cwl_type, file="sweep.yml", line=4, field="n")
    assert info.value.where.line == 4
    assert info.value.where.file == "sweep.yml"
    assert info.value.where.field == "n"


def test_error_names_place_before_message() -> None:
    with pytest.raises(InputError) as info:
        coerce("x", "int", file="sweep.yml", line=3, field="n")
    assert str(info.value) == "sweep.yml:3: field 'n': expected int, got string 'x'"


def test_coerce_returns_fresh_containers() -> None:
    value = {"class": "File", "path": "a", "secondaryFiles": [{"class": "File", "path": "b"}]}
    result = coerce(value, "File")
    result["secondaryFiles"][0]["path"] = "changed"
    assert value["secondaryFiles"][0]["path"] == "b"


@pytest.mark.parametrize("cwl_type, name", [
    pytest.param("int", "int", id="primitive"),
    pytest.param("https://w3id.org/cwl/salad#Any", "Any", id="uri"),
    pytest.param(["null", "int"], "int?", id="optional"),
    pytest.param({"type": "array", "items": "float"}, "float[]", id="array"),
    pytest.param(["null", {"type": "array", "items": "File"}], "File[]?", id="optional-array"),
    pytest.param({"type": "array", "items": ["null", "int"]}, "(int?)[]", id="array-of-optional"),
    pytest.param(["int", "string"], "int | string", id="union"),
    pytest.param(["null", "int", "string"], "(int | string)?", id="optional-union"),
    pytest.param(ENUM, "enum(a, b)", id="enum"),
    pytest.param(RECORD, "record(size, label)", id="record"),
])
def test_type_name(cwl_type: Any, name: str) -> None:
    assert type_name(cwl_type) == name
