"""Terminal output helpers shared by the commands: error lines, all redacted.

Redaction is :func:`labelsync.redact.redact` (the one rule set), re-exported here as
:func:`redact` for the commands that print JSON or tables themselves.
"""

from __future__ import annotations

import os
import sys

import click

from labelsync.errors import LabelsyncError
from labelsync.redact import redact

__all__ = ["err_line", "error", "is_ci", "redact"]


def err_line(text: str) -> None:
    """One line to stderr, redacted."""
    click.echo(redact(text), err=True)


def error(err: LabelsyncError) -> None:
    """Print an expected error: its diagnostics (if any), ``Error: ...`` and ``Hint: ...``."""
    for diag in getattr(err, "diagnostics", []) or []:
        err_line(str(diag))
    err_line(f"Error: {err.message}")
    if err.hint:
        err_line(f"Hint: {err.hint}")


def is_ci() -> bool:
    """True when running in CI (``CI`` set) or without a terminal on stdout."""
    return bool(os.environ.get("CI")) or not sys.stdout.isatty()
