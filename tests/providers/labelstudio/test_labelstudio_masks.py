"""A SEMANTIC_MASK dataset through the provider against a real Label Studio: masks become
BrushLabels predictions in Label Studio's RLE, an annotator's brush annotation comes back as
a PNG mask with ``pull``, and the next plan shows no changes."""

from __future__ import annotations

import json

import pytest

from labelsync.providers.labelstudio import png, rle
from labelsync.providers.labelstudio.project import title_for
from tests.support.lsrepo import cli, image, unique_name, write_repo

pytestmark = pytest.mark.labelstudio

W, H = 8, 6
CATALOG = {"SEMANTIC_MASK": {"categories": [{"name": "road", "categoryId": 1}, {"name": "car", "categoryId": 2}]}}


def mask(values: list[int]) -> bytes:
    return png.write_indices(W, H, values)


def test_masks_apply_as_brushes_an_annotation_pulls_back_as_a_png(labelstudio, ls_client, tmp_path) -> None:
    token = labelstudio.legacy_token
    name = unique_name("masks")
    road_top = [1 if y < 3 else 0 for y in range(H) for _ in range(W)]  # road: the top half
    files = {"a.png": image(1, W, H), "b.png": image(2, W, H)}
    labels = {"a.png": {"SEMANTIC_MASK": {"path": "masks/a.png"}}, "b.png": {"SEMANTIC_MASK": {"path": "masks/b.png"}}}
    root = write_repo(tmp_path / "r", labelstudio.url, files, labels=labels, name=name, catalog=CATALOG)
    (root / "masks").mkdir()
    (root / "masks/a.png").write_bytes(mask(road_top))
    (root / "masks/b.png").write_bytes(mask([2 if x < 2 else 1 for _ in range(H) for x in range(W)]))

    applied = cli(["apply", "--auto-approve"], root, token)
    assert applied.code == 0, applied.text
    assert cli(["plan", "--detailed-exitcode"], root, token).code == 0

    project = ls_client.find_project(title_for(name))
    assert project is not None and "<BrushLabels" in project.label_config
    tasks = {t.data["remotePath"]: t for t in ls_client.iter_tasks(project.id, fields="all")}
    [brush] = tasks["a.png"].predictions[0].result  # one region per category the mask uses
    assert brush["type"] == "brushlabels" and brush["value"]["format"] == "rle"
    assert brush["value"]["brushlabels"] == ["road"]
    assert rle.decode_mask(brush["value"]["rle"], W, H) == [v == 1 for v in road_top]
    assert {r["value"]["brushlabels"][0] for r in tasks["b.png"].predictions[0].result} == {"road", "car"}

    # the annotator keeps the road and paints a car in the bottom-right corner
    car = [x >= 5 and y >= 4 for y in range(H) for x in range(W)]
    painted = {"id": "brushX1", "from_name": "semantic_mask", "to_name": "image", "type": "brushlabels",
               "original_width": W, "original_height": H, "image_rotation": 0,
               "value": {"format": "rle", "rle": rle.encode_mask(car, W, H), "brushlabels": ["car"]}}  # fmt: skip
    ls_client.call("POST", f"api/tasks/{tasks['a.png'].id}/annotations/", what="annotate",
                   json={"result": [brush, painted], "lead_time": 4.0})  # fmt: skip

    blocked = cli(["plan"], root, token)
    assert "run `labelsync pull`" in blocked.out, blocked.out

    pulled = cli(["pull"], root, token)
    assert pulled.code == 0, pulled.text
    lines = {json.loads(x)["remotePath"]: json.loads(x)["label"] for x in (root / "labels.jsonl").read_text().splitlines()}
    path = lines["a.png"]["SEMANTIC_MASK"]["path"]
    width, height, values = png.read_indices((root / path).read_bytes())
    assert (width, height) == (W, H)
    assert values == [2 if c else r for r, c in zip(road_top, car, strict=True)]
    assert lines["b.png"] == labels["b.png"]  # no annotation: the local mask stays
    assert (root / "masks/b.png").read_bytes() == mask([2 if x < 2 else 1 for _ in range(H) for x in range(W)])

    replan = cli(["plan", "--detailed-exitcode"], root, token)
    assert replan.code == 0, replan.text
    assert "No changes" in replan.out
