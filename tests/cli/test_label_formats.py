"""Label formats wired into manifests: validate, desired state, catalog from labels, convert.

Every format's small repository (:mod:`tests.formats.repos`) validates, resolves with the
labels its reader gives and the catalog from its own class list, and reads its labels once
per command; bad input is one ``file:line:column`` line in ``labelsync validate``; ``convert``
round-trips every writable format.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labelsync import formats
from labelsync.desired import resolve_desired
from labelsync.local import labelsets
from labelsync.local.hashcache import HashCache
from labelsync.manifest.validate import run
from tests.formats.repos import FORMATS, format_repo
from tests.support.repo import run_cli


def _resolve(root: Path) -> tuple[list[str], list]:  # type: ignore[type-arg]
    result = run([root], root=root)
    desired = resolve_desired(result.manifests, cache=HashCache(root))
    return [str(d) for d in result.diagnostics], desired


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_validates_and_resolves_with_its_own_catalog(tmp_path: Path, fmt: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    root = format_repo(tmp_path / fmt, fmt)
    calls: list[str] = []
    real = labelsets.read_label_set

    def counting(*args: object, **kwargs: object) -> labelsets.LabelSet:
        calls.append(str(args[0]))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(labelsets, "read_label_set", counting)
    problems, desired = _resolve(root)
    assert problems == []
    assert calls == [fmt]  # parsed once, shared by validation and desired
    ds = desired[0].dataset
    items = ds.segments["train"].items
    labelled = {rp: item.label for rp, item in items.items() if item.label}
    assert labelled, "the format's labels reach the desired state"
    used = {(t, o["category"]) for label in labelled.values() for t, v in label.items()
            for o in (v if isinstance(v, list) else [v]) if isinstance(o, dict) and "category" in o}
    declared = {(t, c["name"]) for t, sub in ds.catalog.items() for c in sub.get("categories", [])}
    assert used <= declared


def test_bad_coco_input_is_one_located_line_in_validate(tmp_path: Path) -> None:
    root = format_repo(tmp_path / "coco", "coco")
    path = root / "annotations" / "instances.json"
    doc = json.loads(path.read_text())
    doc["annotations"][0]["category_id"] = 99
    path.write_text(json.dumps(doc, indent=2))
    result = run_cli(["validate", "."], root, "")
    assert result.code == 1 and "Traceback" not in result.text
    line = doc_line(path.read_text(), '"category_id": 99')
    assert f"annotations/instances.json:{line}:22: annotation 101: category_id 99 is not in categories" in result.text


def doc_line(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


@pytest.mark.parametrize(("fmt", "mutate", "expected"), [
    ("voc", lambda p: (p / "Annotations" / "000005.xml").write_text("<annotation><filename>x.jpg</filename>"),
     "Annotations/000005.xml:1:"),
    ("yolo", lambda p: (p / "yolo/labels/train/0001.txt").write_text("0 0.5 0.5 0.2\n"), "yolo/labels/train/0001.txt:1:"),
    ("kitti", lambda p: (p / "training/label_2/000000.txt").write_text("Car 0 0 0\n"), "training/label_2/000000.txt:1:"),
])
def test_bad_input_in_per_file_formats_is_located(tmp_path: Path, fmt: str, mutate: object, expected: str) -> None:
    root = format_repo(tmp_path / fmt, fmt)
    mutate(root)  # type: ignore[operator]
    problems, _ = (run([root], root=root).diagnostics, None)
    lines = [str(d) for d in problems]
    assert any(f"/{expected}" in line for line in lines), lines


def test_catalog_problem_of_a_coco_label_points_at_its_image(tmp_path: Path) -> None:
    root = format_repo(tmp_path / "coco", "coco", catalog={"BOX2D": {"categories": [{"name": "car"}]}})
    lines = [str(d) for d in run([root], root=root).diagnostics]
    text = (root / "annotations" / "instances.json").read_text()
    assert any("/annotations/instances.json:1:" in line and "undeclared category 'person'" in line
               for line in lines), lines
    assert any("label type 'POLYGON' is not in the catalog" in line and "000000000139.jpg" in line for line in lines)
    assert text  # one-line fixture: the image entry is on line 1


def test_an_option_of_another_format_is_refused_by_the_schema(tmp_path: Path) -> None:
    root = format_repo(tmp_path / "coco", "coco")
    manifest = json.loads((root / "dataset.yaml").read_text())
    manifest["spec"]["segments"][0]["labels"]["classes"] = "classes.txt"
    (root / "dataset.yaml").write_text(json.dumps(manifest))
    lines = [str(d) for d in run([root], root=root).diagnostics]
    assert len(lines) == 1 and "spec.segments[0].labels.format" in lines[0] and "'yolo'" in lines[0], lines


def test_catalog_from_labels_needs_labels(tmp_path: Path) -> None:
    root = format_repo(tmp_path / "coco", "coco")
    manifest = json.loads((root / "dataset.yaml").read_text())
    del manifest["spec"]["segments"][0]["labels"]
    (root / "dataset.yaml").write_text(json.dumps(manifest))
    lines = [str(d) for d in run([root], root=root).diagnostics]
    assert any("catalog from labels, but no segment has labels" in line for line in lines), lines


def _read_back(fmt: str, out: Path, data_dir: Path) -> dict:  # type: ignore[type-arg]
    kwargs: dict[str, object] = {}
    if fmt == "yolo":
        kwargs = {"images_dir": data_dir, "names_file": out / "classes.txt"}
    elif fmt == "labelme":
        kwargs = {"data_dir": data_dir}
    parsed = formats.get(fmt).read(out, **kwargs)
    assert parsed.ok, [str(d) for d in parsed.diagnostics]
    return {rp: label for rp, label in parsed.labels.items() if label}


DATA = {"coco": "images", "voc": "JPEGImages", "yolo": "yolo/images/train", "labelme": "labelme"}


@pytest.mark.parametrize("fmt", ["coco", "voc", "yolo", "labelme"])
def test_convert_round_trips_every_writable_format(tmp_path: Path, fmt: str) -> None:
    root = format_repo(tmp_path / fmt, fmt)
    _, desired = _resolve(root)
    source = {rp: item.label for rp, item in desired[0].dataset.segments["train"].items.items() if item.label}
    out = tmp_path / ("out.json" if fmt == "coco" else "out")
    result = run_cli(["convert", ".", "--to", fmt, "-o", str(out)], root, "")
    assert result.code == 0, result.text
    assert _read_back(fmt, out, root / DATA[fmt]) == source
    # and through JSON Lines and back: the same labels
    jsonl = tmp_path / "labels.jsonl"
    assert run_cli(["convert", ".", "--to", "tensorbay", "-o", str(jsonl)], root, "").code == 0
    assert {rp: label for rp, label in formats.get("tensorbay").read(jsonl).labels.items() if label} == source


def test_convert_refuses_to_overwrite(tmp_path: Path) -> None:
    root = format_repo(tmp_path / "coco", "coco")
    out = tmp_path / "exists.json"
    out.write_text("keep me")
    result = run_cli(["convert", ".", "--to", "coco", "-o", str(out)], root, "")
    assert result.code == 1 and "already exists" in result.text and out.read_text() == "keep me"
