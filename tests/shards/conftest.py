"""A TensorBay emulator on loopback per test, and helpers to run sharded applies as real processes."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import create_app
from tests.support.repo import Result, cli_env, run_cli, write_repo
from tests.support.tensorbay import TOKEN, Remote


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Remote]:
    with EmbeddedServer(create_app(tmp_path / "emulator-state", tokens=[TOKEN])) as srv:
        remote = Remote(srv.url)
        yield remote
        remote.http.close()


class Counting:
    """ASGI middleware counting the requests that reach the emulator, by ``METHOD route``
    (dataset ids folded: ``GET datasets/*/data/details``)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.routes: Counter[str] = Counter()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = scope["path"].split("/v1/", 1)[-1].lstrip("/")
            parts = path.split("/")
            if len(parts) > 1 and parts[0] == "datasets":
                parts[1] = "*"
            self.routes[f"{scope['method']} {'/'.join(parts)}"] += 1
        await self.app(scope, receive, send)

    def listings(self) -> int:
        """The item listings (``data/details`` and ``data`` pages) counted so far."""
        return sum(n for route, n in self.routes.items() if route in ("GET datasets/*/data/details", "GET datasets/*/data"))


@pytest.fixture
def counted(tmp_path: Path) -> Iterator[tuple[Remote, Counting]]:
    """An emulator whose requests are counted (:class:`Counting`)."""
    app = Counting(create_app(tmp_path / "emulator-state", tokens=[TOKEN]))
    with EmbeddedServer(app) as srv:
        remote = Remote(srv.url)
        yield remote, app
        remote.http.close()


def content(i: int, size: int = 256) -> bytes:
    return hashlib.sha256(str(i).encode()).digest() * (size // 32)


def make_repo(root: Path, url: str, n: int = 40, **kw: object) -> Path:
    files = {f"f{i:03d}.bin": content(i) for i in range(n)}
    labels = {p: {"BOX2D": [{"box2d": {"xmin": 1, "ymin": 1, "xmax": 5, "ymax": 6}, "category": "car"}]} for p in list(files)[::3]}
    return write_repo(root, url, files, labels=labels, **kw)  # type: ignore[arg-type]


def cli(repo: Path, *args: str, timeout: float = 120) -> Result:
    return run_cli(list(args), repo, TOKEN, timeout=timeout)


def popen(repo: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "labelsync", *args], cwd=repo, env=cli_env(TOKEN),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def prepare(repo: Path, shards: int) -> Path:
    result = cli(repo, "apply", "--prepare", "-o", "shards.json", "--shards", str(shards), ".")
    assert result.code == 0, result.text
    return repo / "shards.json"
