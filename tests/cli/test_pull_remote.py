"""``labelsync pull`` against what the remote says: masks come back as local files, and a
remote that names unsafe paths or lists only part of its items makes pull fail (exit 1,
one line) with nothing written. TensorBay emulator over loopback, behind a rewriting proxy
for the answers no faithful server gives."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import create_app as tensorbay_app
from tests.support import repo as tb_repo
from tests.support.repo import run_cli
from tests.support.rewrite_proxy import rewriting_proxy
from tests.support.tensorbay import TOKEN

CATALOG = {"BOX2D": {"categories": [{"name": "car"}]}, "SEMANTIC_MASK": {"categories": [{"name": "bg", "categoryId": 0}, {"name": "road", "categoryId": 1}]}}
MASK_ONE, MASK_TWO = b"\x89PNG mask one", b"\x89PNG mask two, longer"


@pytest.fixture
def tensorbay(tmp_path: Path) -> Iterator[str]:
    with EmbeddedServer(tensorbay_app(tmp_path / "tb-state", tokens=[TOKEN])) as server:
        yield server.url


def mask_repo(root: Path, url: str, mask: bytes, info: list[dict[str, Any]]) -> Path:
    labels = {"a.jpg": {"SEMANTIC_MASK": {"path": "masks/a.png", "info": info}}, "b.jpg": tb_repo.box()}
    tb_repo.write_repo(root, url, {"a.jpg": b"a", "b.jpg": b"b"}, labels=labels, catalog=CATALOG)
    (root / "masks").mkdir(exist_ok=True)
    (root / "masks" / "a.png").write_bytes(mask)
    return root


def lines(path: Path) -> dict[str, Any]:
    return {json.loads(x)["remotePath"]: json.loads(x)["label"] for x in path.read_text().splitlines()}


def test_pull_brings_masks_back_as_local_files(tensorbay: str, tmp_path: Path) -> None:
    mine = mask_repo(tmp_path / "mine", tensorbay, MASK_ONE, [{"categoryId": 1}])
    assert run_cli(["apply", "--auto-approve"], mine, TOKEN).code == 0
    label_file = mine / "labels.jsonl"
    before = label_file.read_bytes()
    same = run_cli(["pull"], mine, TOKEN)
    assert same.code == 0 and "0 label files updated, 1 unchanged." in same.out, same.text
    assert label_file.read_bytes() == before

    # someone else changes the mask's bytes and info on the remote
    theirs = mask_repo(tmp_path / "theirs", tensorbay, MASK_TWO, [{"categoryId": 0}, {"categoryId": 1}])
    assert run_cli(["apply", "--auto-approve"], theirs, TOKEN).code == 0
    pulled = run_cli(["pull"], mine, TOKEN)
    assert pulled.code == 0 and "1 label file updated" in pulled.out, pulled.text
    assert lines(label_file)["a.jpg"] == {"SEMANTIC_MASK": {"path": "masks/a.png", "info": [{"categoryId": 0}, {"categoryId": 1}]}}
    assert (mine / "masks" / "a.png").read_bytes() == MASK_TWO
    assert [p.name for p in (mine / "masks").iterdir()] == ["a.png"]  # no temporary file left
    assert run_cli(["validate"], mine, "").code == 0
    replan = run_cli(["plan", "--detailed-exitcode"], mine, TOKEN)
    assert replan.code == 0 and "No changes" in replan.out, replan.text

    # the line lost locally: the mask comes back under masks/<type>/
    label_file.write_text(json.dumps({"remotePath": "b.jpg", "label": tb_repo.box()}) + "\n")
    assert run_cli(["pull"], mine, TOKEN).code == 0
    assert lines(label_file)["a.jpg"] == {"SEMANTIC_MASK": {"path": "masks/semantic_mask/a.png", "info": [{"categoryId": 0}, {"categoryId": 1}]}}
    assert (mine / "masks" / "semantic_mask" / "a.png").read_bytes() == MASK_TWO
    assert run_cli(["validate"], mine, "").code == 0
    assert hashlib.sha1(MASK_TWO).hexdigest()  # the emulator's checksum is what pull verified


def _details(rewrite_item: Any = None, drop_key: bool = False, total: int | None = None) -> Any:
    def rewrite(path: str, query: dict[str, str], body: Any) -> Any:
        if not path.endswith("/data/details") or not isinstance(body, dict):
            return body
        if drop_key:
            return {k: v for k, v in body.items() if k != "dataDetails"}
        if total is not None:
            return {**body, "totalCount": total}
        if rewrite_item is not None:
            return {**body, "dataDetails": [rewrite_item(dict(e)) for e in body.get("dataDetails", [])]}
        return body

    return rewrite


def _unsafe(entry: dict[str, Any]) -> dict[str, Any]:
    if entry.get("remotePath") == "b.jpg":
        entry["remotePath"] = "../../x"
    return entry


@pytest.mark.parametrize(
    ("rewrite", "message"),
    [
        (_details(rewrite_item=_unsafe), "the remote holds an item at '../../x', which is not a safe relative path"),
        (_details(drop_key=True), "wrong shape, dataDetails: field required"),
        (_details(total=1), "the listing is incomplete (totalCount says 1 but 2 items came)"),
    ],
    ids=["unsafe-path", "no-dataDetails", "totalCount-too-low"],
)
def test_pull_refuses_unsafe_or_partial_answers(tensorbay: str, tmp_path: Path, rewrite: Any, message: str) -> None:
    root = tb_repo.write_repo(tmp_path / "repo", tensorbay, {"a.jpg": b"a", "b.jpg": b"b"}, labels={"a.jpg": tb_repo.box(), "b.jpg": tb_repo.box()})
    assert run_cli(["apply", "--auto-approve"], root, TOKEN).code == 0
    label_file = root / "labels.jsonl"
    label_file.write_text("")  # pull would write both lines back
    snapshot = tmp_path / "snapshot"
    shutil.copytree(root, snapshot, ignore=shutil.ignore_patterns(".labelsync"))
    with rewriting_proxy(tensorbay, rewrite) as proxy:
        (root / "labelsync.yaml").write_text((root / "labelsync.yaml").read_text().replace(tensorbay, proxy))
        result = run_cli(["pull"], root, TOKEN)
    assert result.code == 1, result.text
    errors = [x for x in result.err.splitlines() if x.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0], result.err
    assert "Traceback" not in result.err and "updated" not in result.out
    assert label_file.read_text() == ""
    assert not (root.parent / "x").exists() and not (tmp_path / "x").exists()


def test_deepen_pull_refuses_a_labels_answer_that_lacks_files(tmp_path: Path) -> None:
    from labelsync.emulator.deepen import create_app as deepen_app
    from tests.providers.deepen.conftest import PNG, TOKEN_ENV, box, write_repo
    from tests.providers.deepen.conftest import TOKEN as DEEPEN_TOKEN

    def drop_b(path: str, query: dict[str, str], body: Any) -> Any:
        if path.endswith("/labels") and isinstance(body, dict) and isinstance(body.get("labels"), dict):
            return {"labels": {k: v for k, v in body["labels"].items() if k != "b.png"}}
        return body

    app = deepen_app(tmp_path / "deepen-state", tokens=[DEEPEN_TOKEN], processing_seconds=0.1)
    with EmbeddedServer(app) as server:
        api = f"{server.url}/api/v2"
        root = write_repo(tmp_path / "repo", api, {"a.png": PNG + b"a", "b.png": PNG + b"b"}, labels={"a.png": box(), "b.png": box()})
        env = {TOKEN_ENV: DEEPEN_TOKEN}
        assert run_cli(["apply", "--auto-approve"], root, "unused", extra_env=env).code == 0
        (root / "labels.jsonl").write_text("")
        with rewriting_proxy(server.url, drop_b) as proxy:
            (root / "labelsync.yaml").write_text((root / "labelsync.yaml").read_text().replace(server.url, proxy))
            result = run_cli(["pull"], root, "unused", extra_env=env)
    app.close()
    assert result.code == 1, result.text
    assert "the answer lacks 1 of the dataset's files (b.png" in result.err and "Traceback" not in result.err
    assert (root / "labels.jsonl").read_text() == ""
