"""TensorBay label JSON Lines (today's format, ``docs/labels.md``) behind the format interface.

Reading wraps :func:`labelsync.local.labels.read_labels`: the first bad line becomes one
diagnostic (``file:line:column``); writing is :func:`labelsync.local.labels.dump_labels`
(sorted by remotePath, canonical JSON lines), so an unchanged label set gives the same bytes.
The catalog taken "from the labels" lists, per label type, the categories the labels use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from labelsync.errors import LocalDataError
from labelsync.formats.files import read_text, write_text
from labelsync.formats.problems import Parsed, problem
from labelsync.local.labels import LabelRecord, dump_labels, read_labels

_WHERE = re.compile(r"^(?P<file>.*):(?P<line>\d+):(?P<col>\d+): (?P<message>.*)$", re.S)


def parse(text: str, *, file: str = "<labels.jsonl>") -> Parsed:
    """Read JSONL text into labels; the first malformed line is reported as a diagnostic."""
    try:
        records = read_labels(Path(file), text)
    except LocalDataError as exc:
        m = _WHERE.match(exc.message)
        if m is None:
            return Parsed({}, [problem(file, 0, 0, exc.message, exc.hint)])
        return Parsed({}, [problem(m["file"], int(m["line"]), int(m["col"]), m["message"], exc.hint)])
    return Parsed({rp: r.label for rp, r in records.items()}, [])


def read(path: Path, *, display: str | None = None) -> Parsed:
    return parse(read_text(path), file=display or str(path))


def dump(original: str | None, labels: Mapping[str, Mapping[str, Any]]) -> str:
    """The canonical JSONL text of ``labels`` (``original`` when that already is it)."""
    text = dump_labels([LabelRecord(rp, dict(label)) for rp, label in labels.items()])
    return original if original == text else text


def write(path: Path, labels: Mapping[str, Mapping[str, Any]]) -> bool:
    return write_text(path, dump(None, labels))


def catalog_of(labels: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Per label type, the categories used (sorted by name)."""
    found: dict[str, set[str]] = {}
    for label in labels.values():
        for t, value in label.items():
            objs = value if isinstance(value, list) else [value]
            names = found.setdefault(t, set())
            names.update(o["category"] for o in objs if isinstance(o, dict) and isinstance(o.get("category"), str))
    return {t: ({"categories": [{"name": n} for n in sorted(names)]} if names else {}) for t, names in found.items()}


def catalog_from(path: Path) -> dict[str, Any]:
    return catalog_of(read(path).raise_for_errors())
