"""Diagnostics of label files in foreign formats: file, 1-based line and column, message, fix.

A format problem is an ordinary :class:`labelsync.diagnostics.Diagnostic` (its ``hint`` is
the fix), so the CLI prints it like a manifest problem::

    annotations/instances.json:14:23: annotation 7: category_id 9 is not in categories (hint: ...)

Readers never raise for what a file contains: they collect diagnostics and skip the broken
object. :class:`FormatError` carries them when a caller wants an exception (it is a
:class:`~labelsync.errors.LocalDataError`, so the CLI prints it without a traceback).
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from labelsync.diagnostics import Diagnostic, format_path
from labelsync.errors import LocalDataError
from labelsync.local.jsonpos import locate

Labels = dict[str, dict[str, Any]]
"""remotePath -> TensorBay label JSON (the ``label`` object of a JSONL line)."""


def problem(file: str, line: int, column: int, message: str, fix: str | None = None, path: str = "") -> Diagnostic:
    """One error diagnostic (``fix`` becomes the printed hint)."""
    return Diagnostic(file, line, column, message, path, fix)


@dataclass
class Parsed:
    """What a reader returns: the labels it could read and one diagnostic per problem."""

    labels: Labels = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    catalog: dict[str, Any] | None = None
    """The catalog from the format's class list, when the reader builds it on the way."""
    origin: dict[str, str] = field(default_factory=dict)
    """remotePath -> the file (as displayed) its label came from, for one-file-per-item formats."""
    locate: Callable[[str], tuple[int, int]] | None = None
    """remotePath -> 1-based (line, column) of its entry in the label file, when the format
    knows it (COCO: the image); computed only when asked (on a problem)."""
    locate_object: Callable[[str, str, int, tuple[str | int, ...]], tuple[int, int] | None] | None = None
    """``(remotePath, label type, index in that type's list, the rest of the JSON path)`` ->
    1-based (line, column) of the source object (COCO: the annotation, at its ``category_id``
    for a category problem), or ``None``; computed only when asked."""

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    def raise_for_errors(self) -> Labels:
        """The labels, or :class:`FormatError` with the first problem as its message."""
        errors = [d for d in self.diagnostics if d.severity == "error"]
        if errors:
            raise FormatError(errors)
        return self.labels


class FormatError(LocalDataError):
    """A label file in a foreign format that has problems; ``diagnostics`` lists all of them."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        first = diagnostics[0]
        extra = f" (and {len(diagnostics) - 1} more)" if len(diagnostics) > 1 else ""
        text = f"{first.file}:{first.line}:{first.column}: {first.message}{extra}"
        super().__init__(text, hint=first.hint)
        self.diagnostics = diagnostics


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of the 0-based character ``offset`` in ``text``."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


class JsonDoc:
    """A JSON document's text, to turn JSON paths into 1-based line:column (only on errors).

    Positions are found only when asked, and stay cheap when a large file has many problems:
    the first path into a top-level array (``("annotations", 7, ...)``) records where each of
    that array's elements starts, in one pass of the C parser, and after a few look-ups the
    line starts are indexed; a position is the one :func:`~labelsync.local.jsonpos.locate`
    gives for the whole text. The text must be valid JSON.
    """

    LINE_INDEX_AFTER = 8
    """Look-ups that count newlines directly before the line starts are indexed."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text
        self._arrays: dict[str, tuple[int, list[int]]] = {}
        self._lines: list[int] | None = None
        self._lookups = 0

    def _elements(self, key: str) -> tuple[int, list[int]]:
        """0-based offsets of the top-level ``key``'s value and of each of its elements
        (no elements when it is not an array)."""
        if key not in self._arrays:
            text = self.text
            at = locate(text, (key,)) - 1
            starts: list[int] = []
            if at == _WS.match(text).end():  # type: ignore[union-attr]
                at = -1  # no such key: the top-level value itself was found
            elif text.startswith("[", at):
                decode = _DECODER.raw_decode
                i = _WS.match(text, at + 1).end()  # type: ignore[union-attr]
                while text[i] != "]":
                    starts.append(i)
                    i = _WS.match(text, decode(text, i)[1]).end()  # type: ignore[union-attr]
                    if text[i] == ",":
                        i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
            self._arrays[key] = (at, starts)
        return self._arrays[key]

    def offset(self, path: Sequence[str | int]) -> int:
        """The 0-based offset where ``path`` (or its deepest existing ancestor) starts."""
        if len(path) >= 2 and isinstance(path[0], str) and isinstance(path[1], int):
            at, starts = self._elements(path[0])
            if at < 0 or not self.text.startswith("[", at):
                return locate(self.text, path) - 1
            if not 0 <= path[1] < len(starts):
                return at
            return locate(self.text, path[2:], start=starts[path[1]]) - 1
        return locate(self.text, path) - 1

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of ``offset``, as :func:`line_col` gives."""
        self._lookups += 1
        if self._lines is None:
            if self._lookups <= self.LINE_INDEX_AFTER:
                return line_col(self.text, offset)
            self._lines = [0] + [m.end() for m in _NEWLINE.finditer(self.text)]
        offset = max(0, min(offset, len(self.text)))
        n = bisect.bisect_right(self._lines, offset)
        return n, offset - self._lines[n - 1] + 1

    def at(self, path: Sequence[str | int]) -> tuple[int, int]:
        return self.line_col(self.offset(path))

    def problem(self, path: Sequence[str | int], message: str, fix: str | None = None) -> Diagnostic:
        line, col = self.at(path)
        return problem(self.file, line, col, message, fix, format_path(path))


_DECODER = json.JSONDecoder()
_WS = re.compile(r"[ \t\n\r]*")
_NEWLINE = re.compile("\n")
