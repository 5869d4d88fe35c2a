"""Validation problems, collected rather than raised, each pointing at file:line:column.

Validation reports *every* problem at once (terraform's tfdiags, pre-commit's key paths):
checks append :class:`Diagnostic` values to a list; the caller decides what to do. The
string form is the one line the user sees::

    examples/city.yaml:12:9: unknown field 'categoriez' (did you mean 'categories'?) [spec.catalog.BOX2D]

Lines and columns are 1-based; 0 means unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem: where it is, what is wrong, and (optionally) how to fix it."""

    file: str
    line: int
    column: int
    message: str
    path: str = ""
    """JSON path inside the document, e.g. ``spec.segments[0].sensors[1].intrinsics``."""
    hint: str | None = None
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        text = f"{where}: {self.message}"
        if self.path:
            text += f" [{self.path}]"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    """True when any diagnostic is an error (not just a warning)."""
    return any(d.severity == "error" for d in diagnostics)


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    """Order for printing: by file, then position, then message."""
    return (d.file, d.line, d.column, d.message)


def format_path(path: Sequence[str | int]) -> str:
    """A JSON path for messages: ``("spec", "segments", 0, "name")`` -> ``spec.segments[0].name``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def json_type(value: Any) -> str:
    """The JSON Schema type name of a value (``object`` for anything else)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
