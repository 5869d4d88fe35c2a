"""One small dataset per label format: validate, plan, apply, re-plan "No changes", and a
``pull`` that changes no byte of the label files (embedded default remote, real loopback HTTP)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.formats.repos import FORMATS, format_repo
from tests.support.repo import run_cli


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".labelsync" not in p.parts}


@pytest.mark.parametrize("fmt", FORMATS)
def test_format_dataset_applies_replans_and_pulls_without_a_byte_changed(tmp_path: Path, fmt: str) -> None:
    root = format_repo(tmp_path / fmt, fmt)
    assert run_cli(["validate", "."], root, "").code == 0
    assert run_cli(["plan", ".", "--detailed-exitcode"], root, "").code == 2
    applied = run_cli(["apply", ".", "--auto-approve"], root, "", timeout=300)
    assert applied.code == 0, applied.text
    again = run_cli(["plan", ".", "--detailed-exitcode"], root, "")
    assert again.code == 0 and "No changes" in again.out, again.text
    before = _snapshot(root)
    pulled = run_cli(["pull", "."], root, "")
    assert pulled.code == 0, pulled.text
    assert "0 label files updated" in pulled.out
    assert _snapshot(root) == before


def test_pull_rewrites_a_changed_coco_annotation_from_the_remote(tmp_path: Path) -> None:
    root = format_repo(tmp_path / "coco", "coco")
    assert run_cli(["apply", ".", "--auto-approve"], root, "", timeout=300).code == 0
    path = root / "annotations" / "instances.json"
    doc = json.loads(path.read_text())
    original_box = list(doc["annotations"][0]["bbox"])
    doc["annotations"][0]["bbox"][2] += 1
    path.write_text(json.dumps(doc))
    pulled = run_cli(["pull", "."], root, "")
    assert pulled.code == 0 and "updated annotations/instances.json" in pulled.out, pulled.text
    back = json.loads(path.read_text())
    assert back["annotations"][-1]["bbox"] == original_box or any(a["bbox"] == original_box for a in back["annotations"])
    assert [a for a in back["annotations"] if a["id"] != 101] == [a for a in doc["annotations"] if a["id"] != 101]
    assert run_cli(["plan", ".", "--detailed-exitcode"], root, "").code == 0
