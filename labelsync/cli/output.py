"""Terminal output helpers shared by the commands: error lines, secret redaction."""

from __future__ import annotations

import os
import re
import sys

import click

from labelsync.errors import LabelsyncError

_SECRET_ENV = re.compile(r"(TOKEN|SECRET|ACCESS_KEY|PASSWORD|API_KEY)", re.I)


def secrets_from_env() -> list[str]:
    """Values of environment variables that look like credentials (for redaction)."""
    return [v for k, v in os.environ.items() if _SECRET_ENV.search(k) and len(v) >= 6]


def redact(text: str) -> str:
    """``text`` with every credential-looking environment value replaced by ``***``."""
    for secret in secrets_from_env():
        text = text.replace(secret, "***")
    return text


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
