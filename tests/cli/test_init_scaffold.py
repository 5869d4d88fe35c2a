"""``labelsync init DIR`` on a directory of data plus labels: dataset.yaml scaffolded for every
label format (detected by content), valid as written, never replacing a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelsync.cli import main
from tests.formats.repos import FORMATS, format_repo


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


@pytest.fixture(autouse=True)
def no_git_above(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.chdir(tmp_path)


EXPECTED = {
    "coco": ("coco labels at annotations/instances.json", "data images/"),
    "voc": ("voc labels at Annotations", "data JPEGImages/"),
    "yolo": ("yolo labels at yolo/labels/train", "data yolo/images/train/"),
    "labelme": ("labelme labels at labelme", "data labelme/"),
    "kitti": ("kitti labels at training/label_2", "data training/"),
}


@pytest.mark.parametrize("fmt", [*FORMATS, "tensorbay"])
def test_scaffolds_a_valid_manifest_and_says_what_it_guessed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    if fmt == "tensorbay":
        root = tmp_path / "repo"
        (root / "images").mkdir(parents=True)
        (root / "images" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        (root / "labels.jsonl").write_text('{"remotePath": "a.png", "label": {"BOX2D": [{"box2d": {"xmin": 1, "ymin": 1, '
                                           '"xmax": 2, "ymax": 2}, "category": "car"}]}}\n')
        expected = ("tensorbay labels at labels.jsonl", "data images/ (1 files")
    else:
        root = format_repo(tmp_path / "repo", fmt)
        (root / "dataset.yaml").unlink()
        expected = EXPECTED[fmt]
    code, out, err = _run(capsys, "init", str(root))
    assert (code, err) == (0, ""), err
    line = [x for x in out.splitlines() if x.startswith("created repo/dataset.yaml: guessed ")]
    assert line, out
    assert all(part in line[0] for part in expected), line[0]
    assert "catalog from the labels: " in line[0] and "not readable" not in line[0]
    code, out, err = _run(capsys, "validate", str(root / "dataset.yaml"))
    assert code == 0, out + err
    before = (root / "dataset.yaml").read_bytes()
    code, out, _ = _run(capsys, "init", str(root))
    assert code == 0 and "kept repo/dataset.yaml: it exists; not changed" in out
    assert (root / "dataset.yaml").read_bytes() == before


def test_coco_guess_names_the_categories(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = format_repo(tmp_path / "repo", "coco")
    (root / "dataset.yaml").unlink()
    _, out, _ = _run(capsys, "init", str(root))
    assert "data images/ (3 files: **/*.jpg)" in out  # images/sub/ included
    assert "catalog from the labels: BOX2D 3 (person, car, dog);" in out
    text = (root / "dataset.yaml").read_text()
    assert "labels: {format: coco, path: annotations/instances.json}" in text and "from: labels" in text


def test_a_directory_without_labels_gets_no_manifest_and_no_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    code, out, _ = _run(capsys, "init", str(tmp_path))
    assert code == 0 and "dataset.yaml" not in out
    assert not (tmp_path / "dataset.yaml").exists()
