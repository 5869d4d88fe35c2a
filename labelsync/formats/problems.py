"""Diagnostics of label files in foreign formats: file, 1-based line and column, message, fix.

A format problem is an ordinary :class:`labelsync.diagnostics.Diagnostic` (its ``hint`` is
the fix), so the CLI prints it like a manifest problem::

    annotations/instances.json:14:23: annotation 7: category_id 9 is not in categories (hint: ...)

Readers never raise for what a file contains: they collect diagnostics and skip the broken
object. :class:`FormatError` carries them when a caller wants an exception (it is a
:class:`~labelsync.errors.LocalDataError`, so the CLI prints it without a traceback).
"""

from __future__ import annotations

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
    """A JSON document's text, to turn JSON paths into 1-based line:column (only on errors)."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text

    def at(self, path: Sequence[str | int]) -> tuple[int, int]:
        return line_col(self.text, locate(self.text, path) - 1)

    def problem(self, path: Sequence[str | int], message: str, fix: str | None = None) -> Diagnostic:
        line, col = self.at(path)
        return problem(self.file, line, col, message, fix, format_path(path))
