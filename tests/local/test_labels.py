"""The local label file: read (strict, one clear line) and write (deterministic, atomic, no-op)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labelsync.errors import LocalDataError
from labelsync.local.labels import LabelRecord, read_labels, write_labels


def test_read_labels(tmp_path: Path) -> None:
    f = tmp_path / "l.jsonl"
    f.write_text(
        '{"remotePath": "a.jpg", "label": {"CLASSIFICATION": {"category": "cat"}}, "timestamp": 1}\n'
        "\n"
        '{"remotePath": "b/c.jpg", "label": {}}\n'
    )
    records = read_labels(f)
    assert records == {
        "a.jpg": LabelRecord("a.jpg", {"CLASSIFICATION": {"category": "cat"}}, 1.0, 1),
        "b/c.jpg": LabelRecord("b/c.jpg", {}, None, 3),
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{nope", "l.jsonl:1:2: invalid JSON: Expecting property name enclosed in double quotes"),
        ("[1]", "l.jsonl:1:1: a label line must be a JSON object, not a list"),
        ('{"label": {}}', "l.jsonl:1:1: missing 'remotePath'"),
        ('{"remotePath": "a", "label": []}', "l.jsonl:1:30: 'label' must be an object [label]"),
        ('{"remotePath": "../a", "label": {}}', "l.jsonl:1:16: 'remotePath' '../a' must be relative, with '/' separators and no '.', '..' or empty parts [remotePath]"),
        ('{"remotePath": "a", "label": {}, "timestamp": NaN}', "l.jsonl:1:1: invalid JSON: NaN is not valid JSON"),
        ('{"remotePath": "a", "label": {}}\n{"remotePath": "a", "label": {}}', "l.jsonl:2:16: duplicate remotePath 'a' (first on line 1) [remotePath]"),
    ],
)
def test_read_labels_errors(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "l.jsonl"
    f.write_text(text)
    with pytest.raises(LocalDataError) as err:
        read_labels(f)
    assert str(err.value) == f"{tmp_path}/{message}"


def test_read_labels_not_utf8(tmp_path: Path) -> None:
    f = tmp_path / "l.jsonl"
    f.write_bytes(b'{"remotePath": "a", "label": {}}\n{"remotePath": "\xff"}')
    with pytest.raises(LocalDataError, match=r"l.jsonl:2:17: not UTF-8 text"):
        read_labels(f)


def test_write_labels_is_deterministic_sorted_compact(tmp_path: Path) -> None:
    f = tmp_path / "l.jsonl"
    records = [
        LabelRecord("b.jpg", {"BOX2D": [{"category": "car", "box2d": {"ymax": 4, "xmin": 1, "ymin": 2, "xmax": 3}}]}),
        LabelRecord("a.jpg", {}, 1.5),
    ]
    assert write_labels(f, records) is True
    assert f.read_text() == (
        '{"label":{},"remotePath":"a.jpg","timestamp":1.5}\n'
        '{"label":{"BOX2D":[{"box2d":{"xmax":3,"xmin":1,"ymax":4,"ymin":2},"category":"car"}]},"remotePath":"b.jpg"}\n'
    )
    assert read_labels(f)["b.jpg"].label == records[0].label


def test_write_labels_no_op_when_identical(tmp_path: Path) -> None:
    f = tmp_path / "l.jsonl"
    records = {"a.jpg": LabelRecord("a.jpg", {"CLASSIFICATION": {"category": "x"}})}
    assert write_labels(f, records) is True
    os.utime(f, ns=(1, 1))
    inode = f.stat().st_ino
    assert write_labels(f, records) is False
    assert (f.stat().st_mtime_ns, f.stat().st_ino) == (1, inode)  # not rewritten


def test_write_labels_replaces_atomically_and_leaves_no_temp(tmp_path: Path) -> None:
    f = tmp_path / "l.jsonl"
    f.write_text("old\n")
    os.chmod(f, 0o640)
    before = f.stat().st_ino
    assert write_labels(f, [LabelRecord("a.jpg", {})]) is True
    assert f.read_text() == '{"label":{},"remotePath":"a.jpg"}\n'
    assert f.stat().st_ino != before  # a new file renamed over the old one
    assert f.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["l.jsonl"]


def test_write_labels_refuses_duplicates(tmp_path: Path) -> None:
    with pytest.raises(LocalDataError, match="two labels for remotePath 'a'"):
        write_labels(tmp_path / "l.jsonl", [LabelRecord("a", {}), LabelRecord("a", {"X": 1})])


def test_write_labels_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(LocalDataError, match="cannot write "):
        write_labels(tmp_path / "nope" / "l.jsonl", [LabelRecord("a", {})])
