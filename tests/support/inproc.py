"""Run the CLI in-process (``labelsync.cli.main``) and check the fault-suite rules on its output.

In-process runs skip the interpreter start of a real process (most of a small command's
time), so suites with many cases use them; the exit code and the text printed are the same.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from labelsync.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``(exit code, stdout + stderr)`` of ``labelsync ARGS``."""
    capsys.readouterr()
    try:
        main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    else:  # pragma: no cover - main always exits
        code = 0
    out = capsys.readouterr()
    return code, out.out + out.err


def snapshot(root: Path) -> dict[str, str]:
    """The hash of every file of the repository outside ``.labelsync/``."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".labelsync" not in p.parts
    }


def assert_one_line(code: int, text: str, *, contains: str = "unusable answer") -> str:
    """Exit 1, exactly one ``Error:`` line holding ``contains``, no traceback; the line."""
    errors = [line for line in text.splitlines() if line.startswith("Error:")]
    assert code == 1, text
    assert "Traceback" not in text and "internal error" not in text, text
    assert len(errors) == 1, text
    assert contains in errors[0], text
    return errors[0]
