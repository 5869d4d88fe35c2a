"""The format registry and the TensorBay JSONL wrapper behind it."""

from __future__ import annotations

from pathlib import Path

from labelsync import formats
from labelsync.formats import tensorbay

FIXTURES = Path(__file__).parent / "fixtures"


def test_every_format_is_registered_with_its_entry_points() -> None:
    for name in formats.NAMES:
        fmt = formats.get(name)
        assert fmt.name == name and callable(fmt.read) and callable(fmt.write) and callable(fmt.catalog_from)
        assert fmt.layout in ("file", "directory")


def test_tensorbay_round_trip_and_catalog(tmp_path: Path) -> None:
    coco = formats.get("coco").read(FIXTURES / "coco" / "instances.json").labels
    path = tmp_path / "labels.jsonl"
    assert tensorbay.write(path, coco)
    parsed = tensorbay.read(path)
    assert parsed.diagnostics == [] and parsed.labels == coco
    text = path.read_text()
    assert tensorbay.dump(text, parsed.labels) is text
    assert not tensorbay.write(path, parsed.labels)
    catalog = tensorbay.catalog_from(path)
    assert catalog["BOX2D"] == {"categories": [{"name": "car"}, {"name": "dog"}, {"name": "person"}]}
    assert catalog["KEYPOINTS2D"] == {"categories": [{"name": "person"}]}


def test_a_converted_label_set_passes_the_catalog_check(tmp_path: Path) -> None:
    """Readers produce labels that labelsync's own checker accepts against the catalog from the labels."""
    from labelsync.local.labelcheck import check_labels

    for name, target in (("coco", "coco/instances.json"), ("voc", "voc/Annotations"), ("yolo", "yolo/labels/train"),
                         ("labelme", "labelme"), ("kitti", "kitti/training/label_2")):
        fmt = formats.get(name)
        labels = fmt.read(FIXTURES / target).labels
        path = tmp_path / f"{name}.jsonl"
        tensorbay.write(path, labels)
        assert check_labels(path, fmt.catalog_from(FIXTURES / target)) == [], name
