"""``labelsync migrate`` beyond JSON Lines (issue 13): COCO, VOC, YOLO (classes.txt and
data.yaml names), labelme and KITTI label files are rewritten in their own format with a
renamed category followed; files that do not use the old name keep their bytes, a second
run writes nothing, validate no longer warns, and a failure leaves every old file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labelsync import formats
from tests.formats.repos import format_repo
from tests.support.inproc import run, snapshot

RENAME = {"coco": ("dog", "hound"), "voc": ("horse", "pony"), "yolo": ("bicycle", "bike"),
          "labelme": ("bottle", "flask"), "kitti": ("Cyclist", "Rider")}


def _labels_spec(root: Path) -> tuple[dict, dict]:
    m = json.loads((root / "dataset.yaml").read_text())
    seg = m["spec"]["segments"][0]
    return m, seg


def _read(root: Path, fmt: str) -> dict:
    _, seg = _labels_spec(root)
    lab, data = seg["labels"], root / seg["data"]["path"]
    mod = formats.get(fmt).module
    path = root / lab["path"]
    if fmt == "yolo":
        parsed = mod.read(path, images_dir=data, names_file=root / lab["classes"])
    elif fmt == "kitti":
        parsed = mod.read(path, calib_dir=root / lab["calib"])
    elif fmt == "labelme":
        parsed = mod.read(path, data_dir=data)
    else:
        parsed = mod.read(path)
    return parsed.labels


def _catalog(root: Path, fmt: str) -> dict:
    _, seg = _labels_spec(root)
    lab = seg["labels"]
    mod = formats.get(fmt).module
    path = root / lab["path"]
    if fmt == "yolo":
        return mod.catalog_from(path, names_file=root / lab["classes"])
    if fmt == "kitti":
        return mod.catalog_from(path, calib_dir=root / lab["calib"])
    if fmt == "labelme":
        return mod.catalog_from(path, data_dir=root / seg["data"]["path"])
    return mod.catalog_from(path)


def renamed_repo(root: Path, fmt: str) -> Path:
    """The format's repository with an explicit catalog declaring ``RENAME[fmt]``."""
    format_repo(root, fmt)
    old, new = RENAME[fmt]
    catalog = _catalog(root, fmt)
    hits = 0
    for spec in catalog.values():
        for c in spec.get("categories") or []:
            if c.get("name") == old:
                c["name"], c["renamedFrom"] = new, old
                hits += 1
        for k in spec.get("keypoints") or []:
            if old in (k.get("parentCategories") or []):
                k["parentCategories"] = [new if p == old else p for p in k["parentCategories"]]
    assert hits, (fmt, catalog)
    m, _ = _labels_spec(root)
    m["spec"]["catalog"] = catalog
    (root / "dataset.yaml").write_text(json.dumps(m, indent=1) + "\n")
    return root


def _names(labels: dict) -> set[str]:
    out = set()
    for label in labels.values():
        for value in label.values():
            for obj in value if isinstance(value, list) else [value]:
                if isinstance(obj, dict) and isinstance(obj.get("category"), str):
                    out.add(obj["category"])
    return out


@pytest.mark.parametrize("fmt", sorted(RENAME))
def test_migrate_rewrites_the_format_with_the_new_name(fmt: str, tmp_path: Path, capsys, monkeypatch) -> None:
    root = renamed_repo(tmp_path / fmt, fmt)
    old, new = RENAME[fmt]
    monkeypatch.chdir(root)
    before_labels = _read(root, fmt)
    assert old in _names(before_labels)
    code, text = run(["validate", "."], capsys)
    assert code == 0 and "labelsync migrate" in text, text
    before = snapshot(root)
    code, text = run(["migrate", "."], capsys)
    assert code == 0 and "Migrated the labels of" in text, text
    after = snapshot(root)
    changed = {p for p in before if before[p] != after.get(p)}
    assert changed and all(f"rewrote {p}" in text for p in changed), (changed, text)
    assert set(after) == set(before)  # no file added or left behind (temporary files)
    labels = _read(root, fmt)
    assert old not in _names(labels) and new in _names(labels)
    # the labels are the old ones with the rename followed: nothing else changed
    swap = json.loads(json.dumps(before_labels).replace(f'"category": "{old}"', f'"category": "{new}"'))
    assert labels == swap
    # a file whose labels do not use the old name keeps its bytes
    untouched = [p for p, lab in before_labels.items() if old not in _names({p: lab})]
    assert untouched and len(changed) < len(before)
    code, text = run(["migrate", "."], capsys)
    assert code == 0 and "No label file uses a renamed name." in text, text
    code, text = run(["validate", "."], capsys)
    assert code == 0 and "labelsync migrate" not in text, text


@pytest.mark.parametrize("names", ["data.yaml", "classes.txt"])
def test_yolo_names_file_is_renamed_in_place(names: str, tmp_path: Path, capsys, monkeypatch) -> None:
    root = renamed_repo(tmp_path / "yolo", "yolo")
    if names == "classes.txt":
        m, seg = _labels_spec(root)
        (root / "yolo" / "classes.txt").write_text("person\nbicycle\ncar\n")
        (root / "yolo" / "data.yaml").unlink()
        seg["labels"]["classes"] = "yolo/classes.txt"
        m["spec"]["segments"][0] = seg
        (root / "dataset.yaml").write_text(json.dumps(m, indent=1) + "\n")
    file = root / "yolo" / names
    text_before = file.read_text()
    monkeypatch.chdir(root)
    code, text = run(["migrate", "."], capsys)
    assert code == 0, text
    assert file.read_text() == text_before.replace("bicycle", "bike")  # only the name's bytes change


@pytest.mark.parametrize("fmt", ["voc", "yolo", "coco"])
def test_a_failure_leaves_every_old_file(fmt: str, tmp_path: Path, capsys, monkeypatch) -> None:
    """The writers write (VOC files, YOLO's names file, COCO's categories), then the disk
    fills up: every file gets its old bytes back and nothing is left behind."""
    import labelsync.local.migrate as migrate
    from labelsync.errors import LocalDataError

    root = renamed_repo(tmp_path / fmt, fmt)
    monkeypatch.chdir(root)
    real = migrate.write_labels_as
    wrote: list = []

    def fill_up(*args, **kwargs):
        wrote.extend(real(*args, **kwargs))
        raise LocalDataError("cannot write label file x: No space left on device")

    monkeypatch.setattr(migrate, "write_labels_as", fill_up)
    before = snapshot(root)
    code, text = run(["migrate", "."], capsys)
    assert code == 1 and "No space left on device" in text and "Traceback" not in text, text
    assert wrote or fmt != "voc"  # the VOC writer did replace files before the failure
    assert snapshot(root) == before


def test_data_yaml_names_lists_keep_their_style() -> None:
    from labelsync.local.migrate import _yaml_names

    text = 'names: [person, "bicycle", car]  # classes\nnc: 3\n'
    assert _yaml_names(text, ["person", "bicycle", "car"], {1: "bike", 2: "true"}) == \
        'names: [person, bike, "true"]  # classes\nnc: 3\n'
    block = "names:\n- person\n- 'bicycle'\n"
    assert _yaml_names(block, ["person", "bicycle"], {1: "push bike"}) == "names:\n- person\n- push bike\n"
