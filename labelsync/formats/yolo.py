"""YOLO detection/segmentation text (one ``.txt`` per image) <-> TensorBay BOX2D/POLYGON.

Layout (ultralytics): ``labels/<dir>/<stem>.txt`` labels ``images/<dir>/<stem>.<ext>``; the
remotePath is the image's path relative to the images directory. Class names come from
``classes.txt`` (one name per line, id = line index) or ``data.yaml`` ``names`` (a list or
an ``{id: name}`` mapping). A line is ``class cx cy w h`` (a box: centre and size) or
``class x1 y1 x2 y2 ... xk yk`` with k >= 3 (a polygon), all coordinates normalised to
[0, 1] by the image's width and height, which are read from the image header with
``imagesize`` (the image is never decoded). Pixel coordinates are COCO's (origin at the
top-left corner, box corners on pixel edges): ``xmin = (cx - w/2) * W`` etc.

Checks (one diagnostic each, ``file:line:column`` of the field): a line with the wrong
number of fields, a class that is not an integer or not in the names, a coordinate that is
not a number or outside [0, 1], a label file without an image, an image whose size cannot
be read, no class names file.

Writing keeps every line whose object did not change as it was; new or changed objects are
written with up to 10 decimals; an unchanged label set gives back the original text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import imagesize

from labelsync.errors import LocalDataError
from labelsync.formats.files import read_text, write_text
from labelsync.formats.problems import Parsed, problem

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")
ROUND_DIGITS = 10


def _r(v: float) -> float:
    return round(v, ROUND_DIGITS)


def _columns(line: str) -> list[tuple[int, str]]:
    """``(1-based column, field)`` of the whitespace-separated fields."""
    out: list[tuple[int, str]] = []
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i] in " \t\r":
            i += 1
        j = i
        while j < n and line[j] not in " \t\r":
            j += 1
        if j > i:
            out.append((i + 1, line[i:j]))
        i = j
    return out


def parse_line(line: str, n: int, *, file: str, names: Sequence[str], size: tuple[int, int],
               add: Callable[[Any], None]) -> tuple[str, dict[str, Any]] | None:
    """One label line: ``(type, object)`` or ``None`` after adding its one diagnostic."""
    fields = _columns(line)
    count = len(fields)
    if count != 5 and (count < 7 or count % 2 == 0):
        add(problem(file, n, fields[0][0] if fields else 1,
                    f"{count} fields: a box line has 5 (class cx cy w h), a polygon line 1 + 2k with k >= 3",
                    "one object per line, space-separated"))
        return None
    col, text = fields[0]
    if not text.isdigit():
        add(problem(file, n, col, f"class {text!r} is not a non-negative integer"))
        return None
    cls = int(text)
    if cls >= len(names):
        add(problem(file, n, col, f"class {cls} is not in the {len(names)} class names",
                    "add the class to classes.txt / data.yaml names, or fix the id"))
        return None
    values: list[float] = []
    for col, text in fields[1:]:
        try:
            v = float(text)
        except ValueError:
            v = math.nan
        if not (0.0 <= v <= 1.0):
            add(problem(file, n, col, f"coordinate {text!r} is not a number in [0, 1]",
                        "YOLO coordinates are normalised by the image width and height"))
            return None
        values.append(v)
    W, H = size
    category = names[cls]
    if count == 5:
        cx, cy, w, h = values
        box = {"xmin": _r((cx - w / 2) * W), "ymin": _r((cy - h / 2) * H),
               "xmax": _r((cx + w / 2) * W), "ymax": _r((cy + h / 2) * H)}
        return "BOX2D", {"box2d": box, "category": category}
    points = [{"x": _r(values[i] * W), "y": _r(values[i + 1] * H)} for i in range(0, len(values), 2)]
    return "POLYGON", {"polygon": points, "category": category}


def parse(text: str, *, file: str, names: Sequence[str], size: tuple[int, int]) -> Parsed:
    """One YOLO label file's text, for an image of ``size`` (width, height); the label is
    stored under the key ``""`` (the caller knows the remotePath)."""
    out = Parsed()
    label: dict[str, list[Any]] = {}
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        got = parse_line(line, n, file=file, names=names, size=size, add=out.diagnostics.append)
        if got is not None:
            label.setdefault(got[0], []).append(got[1])
    out.labels[""] = {t: label[t] for t in ("BOX2D", "POLYGON") if t in label}
    return out


def _fmt(v: float) -> str:
    text = repr(_r(v))
    return text[:-2] if text.endswith(".0") else text


def format_object(t: str, obj: Mapping[str, Any], names: Sequence[str], size: tuple[int, int]) -> str:
    """The YOLO line of one BOX2D/POLYGON object (``LocalDataError`` for an unknown class)."""
    category = obj.get("category")
    if category not in names:
        raise LocalDataError(f"category {category!r} is not in the YOLO class names",
                             hint="add it to classes.txt or data.yaml names")
    W, H = size
    cls = names.index(category)
    if t == "BOX2D":
        b = obj["box2d"]
        values = [(b["xmin"] + b["xmax"]) / 2 / W, (b["ymin"] + b["ymax"]) / 2 / H,
                  (b["xmax"] - b["xmin"]) / W, (b["ymax"] - b["ymin"]) / H]
    else:
        values = [v for p in obj["polygon"] for v in (p["x"] / W, p["y"] / H)]
    return " ".join([str(cls), *(_fmt(v) for v in values)])


def dump(original: str | None, label: Mapping[str, Any], *, names: Sequence[str], size: tuple[int, int]) -> str:
    """The YOLO text of one image's label (BOX2D then POLYGON objects); lines of ``original``
    whose object is unchanged are kept verbatim, and an unchanged label returns ``original``."""
    kept: list[tuple[str, str, dict[str, Any]]] = []
    if original is not None:
        for n, line in enumerate(original.split("\n"), 1):
            if line.strip():
                got = parse_line(line, n, file="", names=names, size=size, add=lambda d: None)
                if got is not None:
                    kept.append((line, *got))
        if parse(original, file="", names=names, size=size).labels[""] == {k: v for k, v in label.items() if v}:
            return original
    lines: list[str] = []
    for t in ("BOX2D", "POLYGON"):
        for obj in label.get(t) or []:
            match = next((i for i, (_, kt, ko) in enumerate(kept) if kt == t and ko == obj), None)
            lines.append(kept.pop(match)[0] if match is not None else format_object(t, obj, names, size))
    return "".join(line + "\n" for line in lines)


# ---------------------------------------------------------------- directories


def names_from(path: Path) -> list[str]:
    """Class names of a ``classes.txt`` or ``data.yaml`` file."""
    text = read_text(path)
    if path.suffix in (".yaml", ".yml"):
        from ruamel.yaml import YAML

        data = YAML(typ="safe").load(text) or {}
        names = data.get("names") if isinstance(data, dict) else None
        if isinstance(names, dict):
            return [str(names[k]) for k in sorted(names)]
        if isinstance(names, list):
            return [str(n) for n in names]
        raise LocalDataError(f"{path}:1:1: no 'names' list or mapping", hint="add names: [class0, class1, ...]")
    return [line.strip() for line in text.split("\n") if line.strip()]


def find_names(labels_dir: Path) -> Path | None:
    """``classes.txt`` in the labels directory or above it, else ``data.yaml`` above it."""
    for d in (labels_dir, labels_dir.parent, labels_dir.parent.parent):
        for name in ("classes.txt", "data.yaml", "data.yml"):
            if (d / name).is_file():
                return d / name
    return None


def default_images_dir(labels_dir: Path) -> Path:
    """``.../labels/train`` -> ``.../images/train`` (ultralytics); else the labels directory."""
    parts = list(labels_dir.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "labels":
            parts[i] = "images"
            return Path(*parts)
    return labels_dir


def _images(images_dir: Path) -> dict[str, Path]:
    """``<relative dir>/<stem>`` -> image path."""
    out: dict[str, Path] = {}
    for path in sorted(images_dir.rglob("*")):
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file():
            out.setdefault(path.relative_to(images_dir).with_suffix("").as_posix(), path)
    return out


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from the image header, ``None`` when unreadable."""
    try:
        w, h = imagesize.get(str(path))
    except (OSError, ValueError):
        return None
    return (int(w), int(h)) if w > 0 and h > 0 else None


def read(labels_dir: Path, *, images_dir: Path | None = None, names_file: Path | None = None,
         display: str | None = None) -> Parsed:
    """Every ``*.txt`` below ``labels_dir`` (class-name files aside), labels by image
    remotePath; images without a label file get ``{}``."""
    out = Parsed()
    base = display or str(labels_dir)
    names_file = names_file or find_names(labels_dir)
    if names_file is None:
        out.diagnostics.append(problem(base, 0, 0, "no classes.txt or data.yaml with the class names",
                                       "put classes.txt (one name per line) next to the label files"))
        return out
    names = names_from(names_file)
    images_dir = images_dir or default_images_dir(labels_dir)
    images = _images(images_dir)
    for path in images.values():
        out.labels[path.relative_to(images_dir).as_posix()] = {}
    for path in sorted(labels_dir.rglob("*.txt")):
        if path.name == "classes.txt":
            continue
        rel = path.relative_to(labels_dir).with_suffix("").as_posix()
        file = f"{base}/{path.relative_to(labels_dir).as_posix()}"
        image = images.get(rel)
        if image is None:
            out.diagnostics.append(problem(file, 1, 1, f"no image {rel}.* in {images_dir}",
                                           "add the image or delete its label file"))
            continue
        size = image_size(image)
        if size is None:
            out.diagnostics.append(problem(file, 1, 1, f"cannot read the size of image {image}",
                                           "the image header must be PNG, JPEG, GIF, BMP, TIFF or WebP"))
            continue
        parsed = parse(read_text(path), file=file, names=names, size=size)
        out.diagnostics += parsed.diagnostics
        rp = image.relative_to(images_dir).as_posix()
        out.labels[rp] = parsed.labels[""]
        out.origin[rp] = file
    return out


def write(labels_dir: Path, labels: Mapping[str, Mapping[str, Any]], *, images_dir: Path | None = None,
          names_file: Path | None = None) -> list[Path]:
    """Write each image's label into ``<labels_dir>/<remotePath stem>.txt`` (none for an
    empty label without a file); return the files whose bytes changed."""
    names_file = names_file or find_names(labels_dir)
    if names_file is None:
        raise LocalDataError(f"no classes.txt or data.yaml for {labels_dir}", hint="write the class names first")
    names = names_from(names_file)
    images_dir = images_dir or default_images_dir(labels_dir)
    changed: list[Path] = []
    for remote_path in sorted(labels):
        path = labels_dir / (str(Path(remote_path).with_suffix("")) + ".txt")
        original = read_text(path) if path.exists() else None
        if original is None and not labels[remote_path]:
            continue
        size = image_size(images_dir / remote_path)
        if size is None:
            raise LocalDataError(f"cannot read the size of image {images_dir / remote_path}")
        if write_text(path, dump(original, labels[remote_path], names=names, size=size)):
            changed.append(path)
    return changed


def catalog_from(labels_dir: Path, *, names_file: Path | None = None) -> dict[str, Any]:
    """BOX2D (and POLYGON when a segmentation line exists) with the class names in id order."""
    names_file = names_file or find_names(labels_dir)
    if names_file is None:
        raise LocalDataError(f"no classes.txt or data.yaml for {labels_dir}")
    categories = [{"name": n} for n in names_from(names_file)]
    polygons = any(len(line.split()) > 5 for p in labels_dir.rglob("*.txt") if p.name != "classes.txt"
                   for line in read_text(p).split("\n"))
    out: dict[str, Any] = {"BOX2D": {"categories": categories}}
    if polygons:
        out["POLYGON"] = {"categories": categories}
    return out
