"""``apply PLANFILE`` sends the plan's content while it re-hashes and checks the tree
(labelsync/engine/presend.py), over loopback against the TensorBay emulator."""

from __future__ import annotations

import hashlib
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
            query = scope.get("query_string", b"").decode()
            if path.endswith("policies"):
                path += " (dataset)" if "segmentName=&" in query + "&" else " (segment)"
            self.routes[f"{scope['method']} {path}"] += 1
        await self.app(scope, receive, send)


def content(i: int) -> bytes:
    return hashlib.sha256(str(i).encode()).digest() * 40


def test_saved_plan_content_is_sent_once_ahead_and_the_end_state_is_the_plain_apply(tmp_path: Path) -> None:
    app = Counting(create_app(tmp_path / "emulator-state", tokens=[TOKEN]))
    with EmbeddedServer(app) as srv:
        repo = write_repo(tmp_path / "repo", srv.url, {f"f{i}.jpg": content(i) for i in range(4)})
        assert run_cli(["apply", ".", "--auto-approve"], repo, TOKEN).code == 0
        for i in range(4, 10):
            (repo / "data" / f"f{i}.jpg").write_bytes(content(i))
        (repo / "data" / "copy.jpg").write_bytes(content(5))  # same content: sent once
        assert run_cli(["plan", ".", "-o", "plan.json"], repo, TOKEN).code == 0
        app.routes.clear()
        result = run_cli(["apply", "plan.json"], repo, TOKEN)
        assert result.code == 0, result.text
        routes = dict(app.routes)
        assert routes.get("GET datasets/*/policies (dataset)") == 1, routes  # the pre-send ran
        assert routes.get("POST storage/upload") == 6, routes  # each new blob once
        assert "7 file(s) written, 6 file(s)" in result.out, result.out
        again = run_cli(["plan", ".", "--detailed-exitcode"], repo, TOKEN)
        assert again.code == 0 and "No changes" in again.out, again.text


def test_stale_saved_plan_is_refused_before_any_upload_and_leaves_no_draft(tmp_path: Path) -> None:
    app = Counting(create_app(tmp_path / "emulator-state", tokens=[TOKEN]))
    with EmbeddedServer(app) as srv:
        repo = write_repo(tmp_path / "repo", srv.url, {"a.jpg": content(1)})
        assert run_cli(["apply", ".", "--auto-approve"], repo, TOKEN).code == 0
        (repo / "data" / "b.jpg").write_bytes(content(2))
        assert run_cli(["plan", ".", "-o", "plan.json"], repo, TOKEN).code == 0
        other = write_repo(tmp_path / "other", srv.url, {"a.jpg": content(3)})
        assert run_cli(["apply", ".", "--auto-approve"], other, TOKEN).code == 0  # the head moves
        app.routes.clear()
        stale = run_cli(["apply", "plan.json"], repo, TOKEN)
        assert stale.code == 1 and "plan is stale" in stale.err and "Traceback" not in stale.err, stale.text
        assert "POST storage/upload" not in app.routes, dict(app.routes)
        fresh = run_cli(["apply", ".", "--auto-approve"], repo, TOKEN)  # the lock was released
        assert fresh.code == 0, fresh.text


def test_saved_plan_whose_tree_changed_is_refused_and_the_rerun_applies(tmp_path: Path) -> None:
    app = Counting(create_app(tmp_path / "emulator-state", tokens=[TOKEN]))
    with EmbeddedServer(app) as srv:
        repo = write_repo(tmp_path / "repo", srv.url, {"a.jpg": content(1)})
        assert run_cli(["apply", ".", "--auto-approve"], repo, TOKEN).code == 0
        (repo / "data" / "b.jpg").write_bytes(content(2))
        assert run_cli(["plan", ".", "-o", "plan.json"], repo, TOKEN).code == 0
        (repo / "data" / "c.jpg").write_bytes(content(3))  # the digest check refuses the plan
        refused = run_cli(["apply", "plan.json"], repo, TOKEN)
        assert refused.code == 1 and "Traceback" not in refused.err, refused.text
        assert run_cli(["apply", ".", "--auto-approve"], repo, TOKEN).code == 0  # not locked out
        again = run_cli(["plan", ".", "--detailed-exitcode"], repo, TOKEN)
        assert again.code == 0, again.text
