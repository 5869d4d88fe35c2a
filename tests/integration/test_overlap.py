"""``apply --auto-approve`` of a new dataset sends content while the tree is still hashed
(labelsync/engine/overlap.py), over loopback against the TensorBay emulator."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from labelsync.emulator.runtime import EmbeddedServer, FaultConfig
from labelsync.emulator.tensorbay import create_app
from tests.support.repo import cli_env, run_cli, write_repo
from tests.support.tensorbay import TOKEN, Remote


class Counting:
    """Counts requests by route (policies: dataset-level or per segment); can kill a process
    at the first storage upload."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.routes: Counter[str] = Counter()
        self.kill_at_upload: int | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = re.sub(r"^datasets/[^/]+", "datasets/*", scope["path"].split("/v1/", 1)[-1].lstrip("/"))
            if path.endswith("policies"):
                path += " (dataset)" if "segmentName=&" in scope.get("query_string", b"").decode() + "&" else " (segment)"
            self.routes[f"{scope['method']} {path}"] += 1
            if path == "storage/upload" and self.kill_at_upload is not None:
                os.kill(self.kill_at_upload, signal.SIGKILL)
                self.kill_at_upload = None
        await self.app(scope, receive, send)


def content(i: int, size: int = 256) -> bytes:
    return hashlib.sha256(str(i).encode()).digest() * (size // 32)


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def test_initial_apply_sends_while_hashing_each_blob_once_same_end_state(tmp_path: Path) -> None:
    app = Counting(create_app(tmp_path / "emulator-state", tokens=[TOKEN]))
    with EmbeddedServer(app) as srv:
        # enough to hash that the first uploads start before hashing ends
        files = {f"f{i:04d}.jpg": content(i, 16384) for i in range(3000)}
        files["copy.jpg"] = content(7, 16384)  # same content as f0007: sent once
        repo = write_repo(tmp_path / "repo", srv.url, files)
        result = run_cli(["apply", ".", "--auto-approve"], repo, TOKEN)
        assert result.code == 0, result.text
        routes = dict(app.routes)
        assert routes.get("GET datasets/*/policies (dataset)") == 1, routes  # the overlap ran
        assert routes.get("POST storage/upload") == 3000, routes  # no blob twice
        assert routes.get("GET datasets") == 1, routes  # the look-up before hashing only
        assert routes.get("POST datasets/*/commits") == 1, routes
        assert "3001 file(s) written, 3000 file(s)" in result.out, result.out
        remote = Remote(srv.url)
        items = remote.items("ds1")
        assert {p: items[p]["checksum"] for p in items} == {p: sha1(d) for p, d in files.items()}
        assert len(remote.commits("ds1")) == 1
        again = run_cli(["plan", ".", "--detailed-exitcode"], repo, TOKEN)
        assert again.code == 0 and "No changes" in again.out, again.text
        (repo / "data" / "new.jpg").write_bytes(content(1000))
        app.routes.clear()
        change = run_cli(["apply", ".", "--auto-approve"], repo, TOKEN)  # an existing dataset: the plain apply
        assert change.code == 0, change.text
        routes = dict(app.routes)
        assert "GET datasets/*/policies (dataset)" not in routes and routes.get("GET datasets") == 2, routes  # probe + plan
        assert routes.get("POST storage/upload") == 1, routes


def test_kill_during_the_overlap_then_rerun_converges_to_one_commit(tmp_path: Path) -> None:
    app = Counting(create_app(tmp_path / "emulator-state", tokens=[TOKEN], faults=FaultConfig(latency_ms=5)))
    with EmbeddedServer(app) as srv:
        files = {f"f{i:04d}.bin": content(i, 16384) for i in range(3000)}
        repo = write_repo(tmp_path / "repo", srv.url, files)
        proc = subprocess.Popen(
            [sys.executable, "-m", "labelsync", "apply", ".", "--auto-approve"],
            cwd=repo, env=cli_env(TOKEN), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        app.kill_at_upload = proc.pid  # the first upload starts while the tree is being hashed
        proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL
        remote = Remote(srv.url)
        ds = remote.dataset_id("ds1")
        drafts = remote.http.get(f"datasets/{ds}/drafts", params={"status": "OPEN"}).json()["drafts"]
        assert len(drafts) == 1 and "digest=pending" in drafts[0]["description"], drafts  # killed in the overlap
        result = run_cli(["apply", ".", "--auto-approve"], repo, TOKEN)
        assert result.code == 0, result.text
        items = remote.items("ds1")
        assert {p: items[p]["checksum"] for p in items} == {p: sha1(d) for p, d in files.items()}
        assert len(remote.commits("ds1")) == 1
        assert run_cli(["plan", ".", "--detailed-exitcode"], repo, TOKEN).code == 0


def test_a_dataset_created_after_the_look_up_is_refused_as_stale(tmp_path: Path) -> None:
    from labelsync.engine.overlap import provisional_plan, start_overlap
    from labelsync.errors import StalePlanError
    from labelsync.providers.session import ApplyOptions, NullEvents
    from labelsync.providers.tensorbay.client import TensorBayClient
    from labelsync.providers.tensorbay.provider import TensorBayProvider
    from labelsync.state import Live

    app = Counting(create_app(tmp_path / "emulator-state", tokens=[TOKEN]))
    with EmbeddedServer(app) as srv:
        other = write_repo(tmp_path / "other", srv.url, {"a.jpg": content(1)})
        assert run_cli(["apply", ".", "--auto-approve"], other, TOKEN).code == 0  # created and committed
        app.routes.clear()
        client = TensorBayClient(srv.url, TOKEN)
        try:
            provider = TensorBayProvider(client)
            plan = provisional_plan(name="ds1", remote="default", provider="tensorbay", kind="normal", branch="main", settings={}, tag=None)
            options = ApplyOptions(root=tmp_path)
            # the look-up said "absent" (it ran before the other apply created the dataset)
            overlap = start_overlap(lambda: Live(dataset=None), lambda p: provider.session(p, options, NullEvents()), plan, tmp_path)
            assert overlap is not None
            overlap.feed([], b"", [])  # the first chunk starts it
            assert overlap.engaged()
            with pytest.raises(StalePlanError, match="created and committed to since the plan was made"):
                overlap.adopt(plan)
            assert "POST storage/upload" not in app.routes and "POST datasets/*/drafts" not in app.routes, dict(app.routes)
        finally:
            client.close()
        assert len(Remote(srv.url).commits("ds1")) == 1
