"""A TensorBay emulator on loopback per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import create_app
from tests.support.tensorbay import TOKEN, Remote


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Remote]:
    with EmbeddedServer(create_app(tmp_path / "emulator-state", tokens=[TOKEN])) as srv:
        remote = Remote(srv.url)
        yield remote
        remote.http.close()
