"""Renames without loss, through the real CLI against the emulators over loopback (issue 13
item 4): validate accepts old names only when a rename says so, the plan shows one rename
with the labels that follow, apply renames in place without sending file bytes, migrate
rewrites the label file, and a provider that cannot rename in place needs allowReplace."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import create_app
from tests.support.repo import box, run_cli, write_repo
from tests.support.tensorbay import TOKEN, Remote

PNG = b"\x89PNG\r\n\x1a\n"
FILES = {"a.png": PNG + b"a" * 64, "b.png": PNG + b"b" * 64, "c.png": PNG + b"c" * 64}
RENAMED = {"BOX2D": {"categories": [{"name": "car"}, {"name": "coach", "renamedFrom": "bus"}]}}


class Recorder:
    """ASGI middleware on the emulator's side: every request's method, path and body."""

    def __init__(self, app) -> None:
        self.app = app
        self.requests: list[tuple[str, str, bytes]] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body = bytearray()
        entry = [scope["method"], scope["path"], body]
        self.requests.append(entry)  # type: ignore[arg-type]

        async def recv():
            message = await receive()
            if message.get("type") == "http.request":
                body.extend(message.get("body", b""))
            return message

        return await self.app(scope, recv, send)


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[tuple[Remote, Recorder]]:
    recorder = Recorder(create_app(tmp_path / "emulator-state", tokens=[TOKEN]))
    with EmbeddedServer(recorder) as srv:
        remote = Remote(srv.url)
        yield remote, recorder
        remote.http.close()


def labels() -> dict[str, dict]:
    return {"a.png": box("bus", 1), "b.png": {"BOX2D": box("bus", 2)["BOX2D"] + box("car", 3)["BOX2D"]}, "c.png": box("car", 4)}


def test_a_category_rename_is_planned_applied_in_place_and_migrated(recorded, tmp_path: Path) -> None:
    remote, recorder = recorded
    root = write_repo(tmp_path / "repo", remote.url, FILES, labels=labels())
    assert run_cli(["apply", ".", "--auto-approve"], root, TOKEN).code == 0

    # old names without a rename are still an error
    write_repo(tmp_path / "repo", remote.url, FILES, labels=labels(), catalog={"BOX2D": {"categories": [{"name": "car"}, {"name": "coach"}]}})
    bad = run_cli(["validate", "."], root, TOKEN)
    assert bad.code == 1 and "bus" in bad.text, bad.text

    write_repo(tmp_path / "repo", remote.url, FILES, labels=labels(), catalog=RENAMED)
    before = (root / "labels.jsonl").read_bytes()
    ok = run_cli(["validate", "."], root, TOKEN)
    assert ok.code == 0, ok.text
    assert "labels.jsonl:1:" in ok.text and "2 labels still use old names (BOX2D category bus -> coach)" in ok.text
    assert "labelsync migrate" in ok.text

    plan = run_cli(["plan", "."], root, TOKEN)
    assert plan.code == 0, plan.text
    assert "  ~ catalog\n      ~ BOX2D category: rename bus -> coach (2 labels follow)\n" in plan.out
    assert "    ~ 2 labels of 2 items follow the renames (bus -> coach)\n" in plan.out
    assert "label.a.png" not in plan.out and "breaking" not in plan.out and "category bus" not in plan.out
    assert plan.out.rstrip().endswith("Plan: 0 to create, 3 to update, 0 to delete, 0 to replace; 0 B to upload.")
    md = run_cli(["plan", ".", "--format", "markdown"], root, TOKEN)
    assert "    ~ BOX2D category: rename bus -> coach (2 labels follow)\n" in md.out
    saved = tmp_path / "plan.json"
    assert run_cli(["plan", ".", "-o", str(saved)], root, TOKEN).code == 0
    assert json.loads(saved.read_text())["datasets"][0]["renames"] == {"BOX2D": {"categories": {"bus": "coach"}}}

    recorder.requests.clear()
    applied = run_cli(["apply", str(saved), "--auto-approve"], root, TOKEN)
    assert applied.code == 0, applied.text
    assert "0 file(s) / 0 B uploaded" in applied.out
    sent = [(m, p, bytes(b)) for m, p, b in recorder.requests]
    assert sent, "apply talked to the emulator"
    assert not any(content in body for _, _, body in sent for content in FILES.values()), "file bytes were sent"
    assert not any("callback" in p or "polic" in p for _, p, _ in sent), [p for _, p, _ in sent]
    assert [c["name"] for c in remote.catalog("ds1")["BOX2D"]["categories"]] == ["car", "coach"]
    items = remote.items("ds1")
    assert [o["category"] for o in items["a.png"]["label"]["BOX2D"]] == ["coach"]
    assert sorted(o["category"] for o in items["b.png"]["label"]["BOX2D"]) == ["car", "coach"]
    assert run_cli(["plan", ".", "--detailed-exitcode"], root, TOKEN).code == 0

    migrated = run_cli(["migrate", "."], root, TOKEN)
    assert migrated.code == 0, migrated.text
    assert "Migrated the labels of 2 items in 1 file." in migrated.out
    after = (root / "labels.jsonl").read_bytes()
    assert b'"bus"' not in after and after.count(b'"coach"') == 2
    assert before.split(b"\n")[2] == after.split(b"\n")[2]  # c.png's line keeps its bytes
    assert "No label file uses a renamed name." in run_cli(["migrate", "."], root, TOKEN).out
    clean = run_cli(["validate", "."], root, TOKEN)
    assert clean.code == 0 and "old names" not in clean.text
    assert run_cli(["plan", ".", "--detailed-exitcode"], root, TOKEN).code == 0


def test_a_provider_that_cannot_rename_in_place_says_so_and_needs_allow_replace(tmp_path: Path) -> None:
    import shutil
    import subprocess

    root = tmp_path / "repo"
    shutil.copytree(Path(__file__).resolve().parents[2] / "examples" / "deepen-images", root)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    manifest = root / "dataset.yaml"
    assert run_cli(["apply", ".", "--auto-approve"], root, TOKEN).code == 0
    text = manifest.read_text()
    manifest.write_text(text.replace("        - name: sign\n", "        - {name: roadsign, renamedFrom: sign}\n"))

    plan = run_cli(["plan", "."], root, TOKEN)
    assert plan.code == 1, plan.text  # blocked
    assert "deepen cannot rename in place (BOX2D category sign -> roadsign)" in plan.out
    assert "set spec.allowReplace: true" in plan.out

    manifest.write_text(manifest.read_text().replace("allowReplace: false", "allowReplace: true"))
    allowed = run_cli(["plan", "."], root, TOKEN)
    assert allowed.code == 0, allowed.text
    assert "deepen cannot rename in place" in allowed.out and "-/+ dataset.deepen-signs" in allowed.out
