"""The reviewer's view of issue 13's quickstart change, through the real CLI against the
TensorBay emulator over loopback: one box moved, one label added, one removed, a category
renamed with 3 labels following (``renamedFrom``), one enum value added.

The base state is the quickstart example with two more pedestrians (so 3 labels follow the
rename) and a ``colour`` enum attribute. With ``REVIEW_PLAN_OUT=DIR`` the test also
writes the text plan, the markdown plan and the HTML report there (for the issue note).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from tests.support.repo import TOKEN_ENV, run_cli
from tests.support.tensorbay import TOKEN, Remote

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quickstart"


def _labels(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "labels.jsonl").read_text().splitlines() if line.strip()]


def _write_labels(root: Path, rows: list[dict]) -> None:
    (root / "labels.jsonl").write_text("".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in rows))


def _pedestrian(x: int, colour: str) -> dict:
    return {"attributes": {"occluded": False, "colour": colour}, "box2d": {"xmin": x, "ymin": 5, "xmax": x + 10, "ymax": 40}, "category": "pedestrian"}


def base_repo(root: Path, url: str) -> Path:
    """The quickstart copy at its base state (see the module docstring)."""
    shutil.copytree(EXAMPLE, root)
    (root / "labelsync.yaml").write_text(f"remotes:\n  default: {{provider: tensorbay, url: '{url}', tokenEnv: {TOKEN_ENV}}}\n")
    manifest = (root / "dataset.yaml").read_text()
    manifest = manifest.replace(
        "        - name: occluded\n          type: boolean\n",
        "        - name: occluded\n          type: boolean\n        - name: colour\n          enum: [red, blue]\n",
    )
    (root / "dataset.yaml").write_text(manifest)
    rows = _labels(root)
    rows[0]["label"]["BOX2D"].append(_pedestrian(40, "red"))
    rows[2]["label"]["BOX2D"] = [_pedestrian(20, "blue")]
    _write_labels(root, rows)
    return root


def make_change(root: Path) -> None:
    """The reviewed change, made the way a user would: edit the manifest and the labels."""
    manifest = (root / "dataset.yaml").read_text()
    manifest = manifest.replace("        - name: pedestrian\n", "        - name: person\n          renamedFrom: pedestrian\n")
    manifest = manifest.replace("enum: [red, blue]", "enum: [red, blue, green]")
    (root / "dataset.yaml").write_text(manifest)
    rows = _labels(root)
    car = rows[0]["label"]["BOX2D"][0]
    car["box2d"] = {"xmin": 7, "ymin": 10, "xmax": 27, "ymax": 30}  # one box moved
    rows[0]["label"]["BOX2D"].append(  # one label added, with the new enum value
        {"attributes": {"occluded": False, "colour": "green"}, "box2d": {"xmin": 45, "ymin": 30, "xmax": 60, "ymax": 45}, "category": "car"})
    rows[1]["label"]["BOX2D"] = [o for o in rows[1]["label"]["BOX2D"] if o["category"] != "car"]  # one label removed
    _write_labels(root, rows)  # the pedestrians stay: `labelsync migrate` renames them


def test_the_quickstart_change_reads_as_what_it_is(emulator: Remote, tmp_path: Path) -> None:
    root = base_repo(tmp_path / "quickstart", emulator.url)
    applied = run_cli(["apply", ".", "--auto-approve"], root, TOKEN)
    assert applied.code == 0, applied.text
    make_change(root)
    migrated = run_cli(["migrate", "."], root, TOKEN)
    assert migrated.code == 0 and "Migrated the labels of 3 items in 1 file." in migrated.out, migrated.text

    text = run_cli(["plan", "."], root, TOKEN)
    assert text.code == 0, text.text
    out = text.out
    assert "~ BOX2D category: rename pedestrian -> person (3 labels follow)" in out, out
    assert re.search(r"train  BOX2D pedestrian -> person +3 -> 3\n", out), out
    assert re.search(r'train  BOX2D colour="green" +0 -> 1 \(\+1\)\n', out), out
    assert '~ BOX2D attribute colour: enum + "green"' in out, out
    assert "~ box2d car [5,10,25,30] -> [7,10,27,30]" in out, out
    assert "+ box2d car [45,30,60,45]" in out and "- box2d car [2,2,12,12]" in out, out
    assert "~ 1 label of 1 item follows the renames (pedestrian -> person)\n" in out, out  # 0003; 0001, 0002 are listed
    assert "(-3)" not in out and "(+3)" not in out and "category 'pedestrian' removed" not in out

    md = run_cli(["plan", ".", "--format", "markdown"], root, TOKEN)
    assert md.code == 0, md.text
    assert "| `quickstart` | `train` | `BOX2D pedestrian -> person` | 3 | 3 | renamed |" in md.out, md.out

    html = tmp_path / "plan.html"
    report = run_cli(["plan", ".", "--format", "html", "-o", str(html)], root, TOKEN)
    assert report.code == 0, report.text
    doc = html.read_text()
    assert "person (renamed from pedestrian)" in doc

    target = os.environ.get("REVIEW_PLAN_OUT")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        (Path(target) / "plan.txt").write_text(out)
        (Path(target) / "plan.md").write_text(md.out)
        shutil.copy(html, Path(target) / "plan.html")
