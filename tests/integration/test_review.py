"""What a reviewer sees, through the real CLI against the TensorBay emulator over loopback:
label-level diffs and statistics in the plan, ``labelsync stats`` (local and ``--remote``)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.repo import box, run_cli, write_repo
from tests.support.tensorbay import TOKEN, Remote

PNG = b"\x89PNG\r\n\x1a\n"


def repo(tmp_path: Path, url: str, labels: dict[str, dict], **kw) -> Path:
    files = {"a.png": PNG + b"a", "b.png": PNG + b"b", "c.png": PNG + b"c"}
    return write_repo(tmp_path / "repo", url, files, labels=labels, **kw)


def test_plan_shows_label_diffs_and_statistics_and_stats_command(emulator: Remote, tmp_path: Path) -> None:
    root = repo(tmp_path, emulator.url, {"a.png": box("car", 1), "b.png": box("bus", 2)})
    applied = run_cli(["apply", ".", "--auto-approve"], root, TOKEN)
    assert applied.code == 0, applied.text
    repo(tmp_path, emulator.url, {"a.png": box("car", 3), "c.png": box("car", 4)})

    plan = run_cli(["plan", "."], root, TOKEN)
    assert plan.code == 0, plan.text
    assert "    ~ label.a.png\n        ~ box2d car [1,1,6,6] -> [3,1,8,6]\n" in plan.out
    assert "    ~ label.b.png\n        - box2d bus [2,1,7,6]\n" in plan.out
    assert "    ~ label.c.png\n        + box2d car [4,1,9,6]\n" in plan.out
    assert "      train  BOX2D bus  1 -> 0 (-1)\n" in plan.out
    assert "      train  BOX2D car  1 -> 2 (+1)\n" in plan.out

    md = run_cli(["plan", ".", "--format", "markdown"], root, TOKEN)
    assert "| `ds1` | `train` | `BOX2D car` | 1 | 2 | +1 |" in md.out
    assert "! label.c.png\n    + box2d car [4,1,9,6]\n" in md.out

    local = run_cli(["stats", "."], root, TOKEN)
    assert local.code == 0, local.text
    assert local.out.startswith("dataset ds1 (local labels)\n")
    assert "  train  BOX2D car             2\n" in local.out
    assert "  train  items with no labels  1\n" in local.out

    remote = run_cli(["stats", ".", "--remote", "--format", "json"], root, TOKEN)
    assert remote.code == 0, remote.text
    [entry] = json.loads(remote.out)["datasets"]
    assert entry["remote_source"] == "statistics"  # the emulator has the endpoint
    assert entry["remote"]["segments"]["(all segments)"]["types"]["BOX2D"]["categories"] == {"car": 1, "bus": 1}
    assert entry["local"]["segments"]["(all segments)"]["types"]["BOX2D"]["categories"] == {"car": 2}
    text = run_cli(["stats", ".", "--remote"], root, TOKEN)
    assert "  (all segments)  BOX2D bus     1 -> 0 (-1)\n" in text.out, text.out


def test_files_kept_because_prune_is_off_are_drift(emulator: Remote, tmp_path: Path) -> None:
    root = repo(tmp_path, emulator.url, {"a.png": box("car", 1)})
    assert run_cli(["apply", ".", "--auto-approve"], root, TOKEN).code == 0
    (root / "data" / "c.png").unlink()

    plan = run_cli(["plan", ".", "--detailed-exitcode"], root, TOKEN)
    assert plan.code == 2, plan.text
    assert "  dataset ds1 (tensorbay remote default, branch main): no changes; kept (prune is off): 1 file\n" in plan.out
    assert plan.out.endswith("No changes to apply; kept (prune is off): 1 file.\n")
    assert "The remote matches the manifests" not in plan.out
    ignored = run_cli(["plan", ".", "--detailed-exitcode", "--ignore-kept"], root, TOKEN)
    assert ignored.code == 0, ignored.text
    md = run_cli(["plan", ".", "--format", "markdown"], root, TOKEN)
    assert "Kept (prune is off): `ds1` 1 file. Set `spec.prune: true` to delete them." in md.out
    saved = json.loads(run_cli(["plan", ".", "--format", "json"], root, TOKEN).out)
    assert saved["datasets"][0]["kept"] == {"files": 1}
    assert saved["summary"]["kept"] == {"files": 1}


def test_plan_format_html_writes_the_report(emulator: Remote, tmp_path: Path) -> None:
    from PIL import Image

    root = repo(tmp_path, emulator.url, {"a.png": box("car", 1)})
    Image.new("RGB", (64, 48), (90, 90, 90)).save(root / "data" / "a.png")
    assert run_cli(["apply", ".", "--auto-approve"], root, TOKEN).code == 0
    (root / "labels.jsonl").write_text(json.dumps({"remotePath": "a.png", "label": box("car", 3)}) + "\n")
    result = run_cli(["plan", ".", "--format", "html", "-o", "out/plan.html"], root, TOKEN)
    assert result.code == 0, result.text
    assert result.out == "Plan: 0 to create, 1 to update, 0 to delete, 0 to replace; 0 B to upload.\n"
    assert "Wrote the HTML report to out/plan.html (" in result.err
    doc = (root / "out" / "plan.html").read_text(encoding="utf-8")
    assert "data:image/jpeg;base64," in doc and '<rect x="3" y="1" width="5" height="5"' in doc
