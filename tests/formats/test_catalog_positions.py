"""A COCO label's problem against the catalog is reported at the annotation it came from
(its ``category_id``), not at the image's entry (real CLI process)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.repo import run_cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "coco"
CATALOG = """  catalog:
    BOX2D:
      categories: [{name: person}]
      attributes: [{name: iscrowd, type: boolean}]
    POLYGON:
      categories: [{name: person}, {name: car}]
      attributes: [{name: iscrowd, type: boolean}]
    MULTI_POLYGON:
      categories: [{name: person}, {name: car}]
      attributes: [{name: iscrowd, type: boolean}]
    RLE:
      categories: [{name: person}, {name: car}]
      attributes: [{name: iscrowd, type: boolean}]
"""


def test_an_undeclared_category_points_at_the_annotations_category_id(tmp_path: Path) -> None:
    root = tmp_path / "coco"
    shutil.copytree(EXAMPLE, root)
    (root / ".git").mkdir()
    manifest = root / "dataset.yaml"
    text = manifest.read_text()
    start, end = text.index("  catalog:"), text.index("  segments:")
    manifest.write_text(text[:start] + CATALOG + text[end:])
    lines = (root / "annotations" / "instances_train.json").read_text().split("\n")

    def at(annotation_id: int) -> tuple[int, int]:
        """1-based line:column of the category_id value of annotation ``annotation_id``."""
        n = next(i for i, line in enumerate(lines) if line.strip() == f'"id": {annotation_id},' and "image_id" in lines[i + 1])
        line = next(i for i in range(n, n + 4) if '"category_id"' in lines[i])
        return line + 1, lines[line].index(":") + 3

    result = run_cli(["validate", "."], root, "")
    assert result.code == 1
    bicycle, car = at(2), at(3)
    assert (f"annotations/instances_train.json:{bicycle[0]}:{bicycle[1]}: 000000000139.png: undeclared category "
            "'bicycle' for BOX2D [label.BOX2D[1].category]") in result.err, result.err
    assert (f"annotations/instances_train.json:{car[0]}:{car[1]}: 000000000285.png: undeclared category "
            "'car' for BOX2D [label.BOX2D[0].category]") in result.err, result.err
