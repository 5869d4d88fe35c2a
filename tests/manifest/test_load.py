"""YAML reading: positions of keys and values, limits, and hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelsync.manifest.load import MAX_DEPTH, format_path, parse_text, read_documents


def test_positions_of_keys_and_values() -> None:
    docs, diags = parse_text("m.yaml", "a: 1\nb:\n  - x: 1\n    y: [1, 2]\n")
    assert diags == []
    doc = docs[0]
    assert doc.data == {"a": 1, "b": [{"x": 1, "y": [1, 2]}]}
    assert doc.values[("a",)] == (1, 4)
    assert doc.keys[("b", 0, "y")] == (4, 5)
    assert doc.values[("b", 0, "y", 1)] == (4, 12)
    assert doc.position(("b", 0, "missing")) == (3, 5)  # nearest ancestor


def test_several_documents_per_file_keep_their_lines() -> None:
    docs, diags = parse_text("m.yaml", "a: 1\n---\n# c\nb: 2\n---\n")
    assert diags == []
    assert [(d.index, d.line, d.data) for d in docs] == [(0, 1, {"a": 1}), (1, 4, {"b": 2})]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("a: 1\na: 2\n", "m.yaml:2:1: duplicate key 'a' in a mapping"),
        ("a: [1\n", "m.yaml:1:4: unclosed flow sequence (started here); expected ',' or ']' at 2:1"),
        ("", "m.yaml:1:1: file holds no YAML document"),
        ("a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), f"m.yaml:1:{MAX_DEPTH + 4}: nesting deeper than {MAX_DEPTH} levels"),
        ("a: 2026-01-01\n", "m.yaml:1:4: 2026-01-01 is read as a date; quote it to make it a string [a]"),
        ("a: !custom x\n", "m.yaml:1:4: unsupported YAML value of type TaggedScalar"),
        ("1: x\n", "m.yaml:1:1: mapping key 1 is not a string; quote it [1]"),
    ],
)
def test_problems_are_one_located_line(text: str, expected: str) -> None:
    _, diags = parse_text("m.yaml", text)
    assert len(diags) == 1
    assert str(diags[0]).startswith(expected), str(diags[0])


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    _, diags = parse_text("m.yaml", "\n".join(lines) + "\n")
    assert "alias bomb" in diags[0].message


def test_very_deep_flow_nesting_is_refused_without_parsing() -> None:
    _, diags = parse_text("m.yaml", "a: " + "[" * 500_000 + "]" * 500_000)
    assert diags[0].message == f"nesting deeper than {MAX_DEPTH} levels"


def test_non_utf8_bytes_are_located(tmp_path: Path) -> None:
    f = tmp_path / "m.yaml"
    f.write_bytes(b"a: 1\nb: caf\xe9\n")
    _, diags = read_documents(f, "m.yaml")
    assert str(diags[0]) == "m.yaml:2:7: file is not UTF-8 text (byte 0xe9) (hint: save the file as UTF-8)"


def test_bom_is_ignored() -> None:
    docs, diags = parse_text("m.yaml", "\ufeffa: 1\n")
    assert diags == [] and docs[0].data == {"a": 1}


@pytest.mark.parametrize(
    "path,text",
    [((), ""), (("spec",), "spec"), (("spec", "segments", 0, "name"), "spec.segments[0].name"), ((0, "a"), "[0].a")],
)
def test_format_path(path: tuple, text: str) -> None:
    assert format_path(path) == text


@pytest.mark.parametrize(
    "text,expected",
    [
        # the example: the bracket opened on line 4, the parser stopped on line 5
        ("a: 1\nb: 2\nc: 3\nspec:   [one, two\n    x: 3\n",
         "m.yaml:4:9: unclosed flow sequence (started here); expected ',' or ']' at 5:6"),
        ("a: {x: 1, y: 2\nb: 3\n", "m.yaml:1:4: unclosed flow mapping (started here); expected ',' or '}' at 2:2"),
        ('a: "abc\n\nb: 3\n', "m.yaml:1:4: unclosed quoted string (started here); the file ends at 4:1"),
        ("a: 'abc\nb: 3\n", "m.yaml:1:4: unclosed quoted string (started here); the file ends at 3:1"),
        ('a: "ab\\qc"\n', "m.yaml:1:4: invalid quoted string (started here); found unknown escape character 'q' at 1:8"),
        ("a:\n  - x\n  y: 2\n",
         "m.yaml:2:3: invalid YAML in a block collection (started here); "
         "expected the block to end (check the indentation), found '?' at 3:3"),
        ("a: b\n c: d\n", "m.yaml:2:3: invalid YAML: mapping values are not allowed here"),  # no context mark
    ],
)
def test_syntax_errors_point_at_the_opening_mark(text: str, expected: str) -> None:
    _, diags = parse_text("m.yaml", text)
    assert [str(d) for d in diags] == [expected]
