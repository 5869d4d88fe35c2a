"""Fixtures for the Deepen emulator tests: a server on loopback and a helper client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labelsync.emulator.deepen import create_app
from labelsync.emulator.runtime import EmbeddedServer
from tests.emulator.deepen.deepen_support import TOKEN, Deepen


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "deepen"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """One emulator per test module (tests isolate themselves by dataset and client ids)."""
    app = create_app(tmp_path_factory.mktemp("deepen"), tokens=[TOKEN, "other"], processing_seconds=0.2)
    with EmbeddedServer(app) as srv:
        yield srv
    app.close()


@pytest.fixture
def dp(server: EmbeddedServer) -> Iterator[Deepen]:
    helper = Deepen(server)
    yield helper
    helper.close()
