"""Fixtures for the manifest tests: run ``labelsync`` in-process through its real error boundary."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from labelsync.cli import main
from tests.support.repo import Result as Run

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """``cli("validate", "x")`` calls :func:`labelsync.cli.main` and returns code and output."""

    def run(*args: str) -> Run:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            main(list(args))
        captured = capsys.readouterr()
        code = exc.value.code
        return Run(code if isinstance(code, int) else (0 if code is None else 1), captured.out, captured.err)

    return run
