"""An initial apply makes only the requests it needs, counted at the emulator (over loopback).

Every sequential API request costs a round trip before the first upload can start; the
uploads themselves are one per distinct blob. A dataset created by this very apply is not
looked up again, nor are its drafts listed (no interrupted run can have one)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import create_app
from tests.support.repo import run_cli, write_repo
from tests.support.tensorbay import TOKEN


class Counting:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.routes: Counter[str] = Counter()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = re.sub(r"^datasets/[^/]+", "datasets/*", scope["path"].split("/v1/", 1)[-1].lstrip("/"))
            self.routes[f"{scope['method']} {path}"] += 1
        await self.app(scope, receive, send)


def test_an_initial_apply_makes_no_needless_request(tmp_path: Path) -> None:
    app = Counting(create_app(tmp_path / "emulator-state", tokens=[TOKEN]))
    with EmbeddedServer(app) as srv:
        files = {f"f{i}.jpg": f"content {i}".encode() * 10 for i in range(5)}
        repo = write_repo(tmp_path / "repo", srv.url, files)
        result = run_cli(["apply", ".", "--auto-approve"], repo, TOKEN)
        assert result.code == 0, result.text
        routes = dict(app.routes)
        assert routes.get("GET datasets") == 1, routes  # the plan's look-up only
        assert "GET datasets/*/drafts" not in routes, routes
        assert routes.get("POST storage/upload") == 5, routes
        assert routes.get("PUT datasets/*/multi/callback") == 1, routes

