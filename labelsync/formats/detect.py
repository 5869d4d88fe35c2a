"""Guess a directory's label format and data (``labelsync init DIR``): reads a few headers.

:func:`detect` walks ``root`` (three levels deep; hidden directories and ``.labelsync``
skipped) and returns a :class:`Guess`, or ``None`` when no labels are found. The formats
are recognised by content, tried in this order (the first found wins):

* ``coco``: a ``.json`` file that is an object with ``images`` and ``annotations`` keys
  (looked for in its first MiB);
* ``labelme``: a directory of ``.json`` files, one holding ``shapes`` and ``imagePath``;
* ``voc``: a directory of ``.xml`` files whose root is ``<annotation>``;
* ``kitti``: a ``label_2`` directory of ``.txt`` lines with 15 fields (data: its parent,
  which holds ``image_2``/``velodyne``);
* ``yolo``: a directory of ``.txt`` lines ``class cx cy w h ...`` with a ``classes.txt`` or
  ``data.yaml`` in it or up to two directories above;
* ``tensorbay``: a ``.jsonl`` file whose first line is an object with ``remotePath``.

The data directory is the deepest one that holds every image file found (outside the
labels, except for labelme, whose JSON files usually sit next to their images), with one
``**/*<suffix>`` include pattern per image suffix; KITTI's is the label directory's parent. Paths in the guess are relative to ``root`` (POSIX).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from labelsync.formats.names import DEFAULT

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
DEPTH = 3
_HEAD = 1024 * 1024
_SKIP = {"node_modules", "__pycache__"}
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


@dataclass(frozen=True, slots=True)
class Guess:
    """What :func:`detect` found: the format, the labels path, the data directory (``None``
    when no images were found) and the data include patterns."""

    format: str
    labels: str
    data: str | None
    include: tuple[str, ...]
    images: int
    """How many data files the include patterns select under ``data``."""


def _walk(root: Path) -> dict[Path, list[str]]:
    """Directory -> its file names, ``DEPTH`` levels under ``root``."""
    out: dict[Path, list[str]] = {}
    for current, dirs, files in os.walk(root):
        here = Path(current)
        depth = len(here.relative_to(root).parts)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP and depth < DEPTH)
        out[here] = sorted(f for f in files if not f.startswith("."))
    return out


def _head(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            return fh.read(_HEAD).decode("utf-8", errors="replace")
    except OSError:
        return ""


def _is_coco(path: Path) -> bool:
    head = _head(path).lstrip()
    return head.startswith("{") and '"images"' in head and '"annotations"' in head


def _is_labelme(path: Path) -> bool:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and "shapes" in doc and "imagePath" in doc


def _is_voc(path: Path) -> bool:
    return re.match(r"^(<\?xml[^>]*\?>)?\s*<annotation[\s>]", _head(path).lstrip("\ufeff").lstrip()) is not None


def _fields(path: Path) -> list[list[str]]:
    return [line.split() for line in _head(path).splitlines() if line.strip()][:20]


def _is_kitti(path: Path) -> bool:
    rows = _fields(path)
    return bool(rows) and all(len(r) in (15, 16) and all(_NUMBER.match(v) for v in r[1:]) for r in rows)


def _is_yolo(path: Path) -> bool:
    rows = _fields(path)
    return bool(rows) and all(
        len(r) >= 5 and r[0].isdigit() and all(_NUMBER.match(v) and 0 <= float(v) <= 1 for v in r[1:]) for r in rows
    )


def _has_names(directory: Path, root: Path) -> bool:
    for d in (directory, directory.parent, directory.parent.parent):
        if (d / "classes.txt").is_file() or (d / "data.yaml").is_file():
            return True
        if d == root:
            break
    return False


def _labels(root: Path, tree: dict[Path, list[str]]) -> tuple[str, Path] | None:
    """``(format, labels path)`` of the first format found (see the module docstring)."""
    def files(suffix: str) -> list[Path]:
        return [d / f for d, names in tree.items() for f in names if f.lower().endswith(suffix)]

    def sample(directory: Path, suffix: str, skip: tuple[str, ...] = ()) -> Path | None:
        names = [f for f in tree.get(directory, []) if f.lower().endswith(suffix) and f not in skip]
        return directory / names[0] if names else None

    for path in files(".json"):
        if _is_coco(path):
            return "coco", path
    checks = (("labelme", ".json", _is_labelme, ()), ("voc", ".xml", _is_voc, ()))
    for fmt, suffix, check, skip in checks:
        for directory in tree:
            first = sample(directory, suffix, skip)
            if first is not None and check(first):
                return fmt, directory
    for directory in tree:
        first = sample(directory, ".txt")
        if directory.name == "label_2" and first is not None and _is_kitti(first):
            return "kitti", directory
    for directory in tree:
        first = sample(directory, ".txt", ("classes.txt",))
        if first is not None and _is_yolo(first) and _has_names(directory, root):
            return "yolo", directory
    for path in files(".jsonl"):
        head = _head(path).split("\n", 1)[0]
        try:
            if "remotePath" in json.loads(head):
                return DEFAULT, path
        except (ValueError, TypeError):
            continue
    return None


def detect(root: Path) -> Guess | None:
    """The label format and data under ``root`` (see the module docstring), or ``None``."""
    tree = _walk(root)
    found = _labels(root, tree)
    if found is None:
        return None
    fmt, labels = found
    rel = labels.relative_to(root).as_posix()
    if fmt == "kitti":
        data = labels.parent
        parts = [d for d in ("image_2", "velodyne") if (data / d).is_dir()]
        include = tuple(f"{d}/*" for d in parts) or ("**/*.png",)
        count = sum(len(tree.get(data / d, [])) for d in parts)
        return Guess(fmt, rel, data.relative_to(root).as_posix() or ".", include, count)
    images: list[Path] = []
    for directory, names in tree.items():
        inside = directory == labels or labels in directory.parents
        if inside and fmt != "labelme":
            continue
        images.extend(directory / n for n in names if Path(n).suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        return Guess(fmt, rel, None, (), 0)
    data_dir = Path(os.path.commonpath([p.parent for p in images]))
    include = tuple(sorted({f"**/*{p.suffix.lower()}" for p in images}))
    return Guess(fmt, rel, data_dir.relative_to(root).as_posix() or ".", include, len(images))
