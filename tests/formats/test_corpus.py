"""The broken-input corpus of the label formats: each case gives exactly one diagnostic,
``file:line:column: message [path] (hint: fix)``, equal to its ``expect`` file.

A case directory holds the label files, ``format`` (the format's name), ``target`` (the
file or directory to read, relative to the case) and ``expect``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from labelsync import formats
from labelsync.formats.problems import FormatError

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 20
    assert {(CORPUS / c / "format").read_text().strip() for c in CASES} == set(formats.NAMES)


@pytest.mark.parametrize("case", CASES)
def test_corpus_case(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = CORPUS / case
    monkeypatch.chdir(directory)
    fmt = formats.get((directory / "format").read_text().strip())
    parsed = fmt.read(Path((directory / "target").read_text().strip()))
    assert [str(d) for d in parsed.diagnostics] == [(directory / "expect").read_text().strip()]
    assert re.match(r"^[^:\s][^:]*:[1-9]\d*:[1-9]\d*: \S", str(parsed.diagnostics[0]))
    with pytest.raises(FormatError) as err:
        parsed.raise_for_errors()
    d = parsed.diagnostics[0]
    assert str(err.value) == f"{d.file}:{d.line}:{d.column}: {d.message}" and err.value.hint == d.hint


def test_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(formats.UsageError, match="unknown label format 'cvat'"):
        formats.get("cvat")
