"""Fixtures for the TensorBay emulator tests: an embedded server and an httpx client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import API_PREFIX, create_app

TENSORBAY_TOKEN = "Accesskey-" + "0" * 32


@pytest.fixture
def tensorbay_server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    """A TensorBay emulator on an ephemeral loopback port, state in ``tmp_path/tb``."""
    with EmbeddedServer(create_app(tmp_path / "tb", tokens=[TENSORBAY_TOKEN])) as server:
        yield server


@pytest.fixture
def tensorbay_api(tensorbay_server: EmbeddedServer) -> Iterator[httpx.Client]:
    """An httpx client on the emulator's Open-API root, authenticated."""
    with httpx.Client(
        base_url=f"{tensorbay_server.url}{API_PREFIX}/", headers={"X-Token": TENSORBAY_TOKEN}, timeout=30
    ) as client:
        yield client
