"""Shared fixtures. An autouse fixture keeps the user's environment out of every test."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove LABELSYNC_*, GITHUB_*, TENSORBAY_* and DEEPEN_* variables for each test."""
    for key in list(os.environ):
        if key.startswith(("LABELSYNC_", "GITHUB_", "TENSORBAY_", "DEEPEN_")):
            monkeypatch.delenv(key, raising=False)
