"""labelme JSON (one file per image) <-> TensorBay labels.

The remotePath is ``imagePath`` (``\\`` read as ``/``), resolved against the JSON file's
directory and made relative to the data directory (default: the labels directory).
Shapes (``label`` is the category, ``group_id`` the instance, shape ``flags`` boolean
attributes, a non-empty ``description`` the attribute ``description``):

==============  ===========================================================================
shape_type      TensorBay label
==============  ===========================================================================
rectangle       BOX2D from its two corners (any order)
polygon         POLYGON (>= 3 points)
linestrip       POLYLINE2D (>= 2 points)
line            POLYLINE2D of 2 points, attribute ``shape_type: "line"``
point           KEYPOINTS2D with one point ``{x, y}``
circle          BOX2D of the circle's bounding square, attribute ``shape_type: "circle"``
                (written back as the centre and the point ``(centre x + r, centre y)``)
==============  ===========================================================================

The image's ``flags`` become a CLASSIFICATION with boolean ``attributes``. Coordinates are
pixels from the image's top-left corner, as labelme shows them (``docs/formats.md``).

Checks (one diagnostic each, at the shape): malformed JSON, no ``imagePath``, an image path
leaving the data directory, a shape without a label, an unknown shape type, the wrong number
of points for the type, a point outside ``imageWidth`` x ``imageHeight``.

Writing keeps the document (``imageData``, ``version``, unknown keys); unchanged shapes keep
their JSON objects, changed ones are rebuilt; an unchanged label gives back the original.
"""

from __future__ import annotations

import json
import math
import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from labelsync.formats.files import read_text, write_text
from labelsync.formats.problems import FormatError, JsonDoc, Parsed, problem

POINTS = {"rectangle": (2, 2), "polygon": (3, None), "linestrip": (2, None), "line": (2, 2), "point": (1, 1),
          "circle": (2, 2)}
EDGE_TOLERANCE = 1e-3
ROUND_DIGITS = 10
TYPES = ("CLASSIFICATION", "BOX2D", "POLYGON", "POLYLINE2D", "KEYPOINTS2D")


def _r(v: Any) -> Any:
    return round(v, ROUND_DIGITS) if type(v) is float else v


def _num(v: Any) -> bool:
    return (type(v) is int) or (type(v) is float and math.isfinite(v))


def shape_object(shape: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The ``(label type, object)`` of a valid shape."""
    kind = shape.get("shape_type") or "polygon"
    pts = [{"x": p[0], "y": p[1]} for p in shape["points"]]
    t: str
    obj: dict[str, Any]
    attributes: dict[str, Any] = {k: v for k, v in (shape.get("flags") or {}).items()}
    if isinstance(shape.get("description"), str) and shape["description"]:
        attributes["description"] = shape["description"]
    if kind in ("rectangle", "circle"):
        if kind == "rectangle":
            (x0, y0), (x1, y1) = shape["points"]
            box = {"xmin": min(x0, x1), "ymin": min(y0, y1), "xmax": max(x0, x1), "ymax": max(y0, y1)}
        else:
            (cx, cy), (px, py) = shape["points"]
            r = _r(math.hypot(px - cx, py - cy))
            box = {"xmin": _r(cx - r), "ymin": _r(cy - r), "xmax": _r(cx + r), "ymax": _r(cy + r)}
            attributes["shape_type"] = "circle"
        t, obj = "BOX2D", {"box2d": box}
    elif kind == "polygon":
        t, obj = "POLYGON", {"polygon": pts}
    elif kind in ("linestrip", "line"):
        t, obj = "POLYLINE2D", {"polyline2d": pts}
        if kind == "line":
            attributes["shape_type"] = "line"
    else:
        t, obj = "KEYPOINTS2D", {"keypoints2d": pts}
    obj["category"] = shape["label"]
    if attributes:
        obj["attributes"] = attributes
    if type(shape.get("group_id")) is int:
        obj["instance"] = str(shape["group_id"])
    return t, obj


def _check_shape(doc: JsonDoc, i: int, shape: Any, width: Any, height: Any) -> Any:
    p: tuple[str | int, ...] = ("shapes", i)
    if not isinstance(shape, dict):
        return doc.problem(p, "a shape must be an object")
    if not isinstance(shape.get("label"), str) or not shape["label"]:
        return doc.problem(p, "a shape without a label", "give the shape a class name")
    kind = shape.get("shape_type") or "polygon"
    if kind not in POINTS:
        return doc.problem(p + ("shape_type",), f"shape type {kind!r} is not supported",
                           f"use one of {', '.join(sorted(POINTS))}")
    points = shape.get("points")
    if not isinstance(points, list) or not all(isinstance(q, list) and len(q) == 2 and all(_num(v) for v in q)
                                               for q in points):
        return doc.problem(p + ("points",), "points must be a list of [x, y] numbers")
    lo, hi = POINTS[kind]
    if len(points) < lo or (hi is not None and len(points) > hi):
        want = str(lo) if lo == hi else f"at least {lo}"
        return doc.problem(p + ("points",), f"a {kind} has {want} points, not {len(points)}")
    flags = shape.get("flags")
    if flags is not None and not (isinstance(flags, dict) and all(isinstance(v, bool) for v in flags.values())):
        return doc.problem(p + ("flags",), "shape flags must map names to true/false")
    if _num(width) and _num(height):
        t = EDGE_TOLERANCE
        for j, (x, y) in enumerate(points):
            if x < -t or y < -t or x > width + t or y > height + t:
                return doc.problem(p + ("points", j), f"point ({x}, {y}) of {shape['label']!r} is outside the "
                                   f"{width}x{height} image", "move the point inside the image")
    return None


def parse(text: str, *, file: str = "<labelme>", json_dir: str = "", data_dir: str = "") -> tuple[
    str | None, dict[str, Any], Parsed
]:
    """One labelme document: ``(remotePath, label, parsed)``. ``json_dir`` and ``data_dir``
    (``/``-separated, both absolute or both relative) are the JSON file's directory and the
    data directory; the remotePath is ``imagePath`` resolved from the first, relative to the
    second (both empty: ``imagePath`` itself, normalised)."""
    parsed = Parsed()
    add = parsed.diagnostics.append
    try:
        top = json.loads(text)
    except json.JSONDecodeError as exc:
        add(problem(file, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}", "fix the JSON syntax"))
        return None, {}, parsed
    doc = JsonDoc(file, text)
    if not isinstance(top, dict):
        add(doc.problem((), "a labelme file is a JSON object with shapes and imagePath"))
        return None, {}, parsed
    image = top.get("imagePath")
    if not isinstance(image, str) or not image:
        add(doc.problem((), "no imagePath", "name the image file, relative to this JSON file"))
        return None, {}, parsed
    remote = posixpath.normpath(posixpath.join(json_dir, image.replace("\\", "/")))
    if json_dir or data_dir:
        remote = posixpath.relpath(remote, data_dir or ".")
    if remote.startswith("../") or remote == ".." or remote.startswith("/"):
        add(doc.problem(("imagePath",), f"image {image!r} is outside the data directory",
                        "keep the images below the data directory or pass it"))
        return None, {}, parsed
    label: dict[str, Any] = {}
    flags = top.get("flags")
    if isinstance(flags, dict) and flags:
        if not all(isinstance(v, bool) for v in flags.values()):
            add(doc.problem(("flags",), "image flags must map names to true/false"))
        else:
            label["CLASSIFICATION"] = {"attributes": dict(flags)}
    shapes = top.get("shapes")
    if not isinstance(shapes, list):
        add(doc.problem(("shapes",) if "shapes" in top else (), "'shapes' must be a list"))
        shapes = []
    for i, shape in enumerate(shapes):
        bad = _check_shape(doc, i, shape, top.get("imageWidth"), top.get("imageHeight"))
        if bad is not None:
            add(bad)
            continue
        t, obj = shape_object(shape)
        label.setdefault(t, []).append(obj)
    parsed.labels[remote] = label
    return remote, label, parsed


def object_shape(t: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """The labelme shape of one label object (inverse of :func:`shape_object`)."""
    attributes = dict(obj.get("attributes") or {})
    kind = attributes.pop("shape_type", None)
    description = attributes.pop("description", "")
    if t == "BOX2D":
        b = obj["box2d"]
        if kind == "circle":
            cx, cy = _r((b["xmin"] + b["xmax"]) / 2), _r((b["ymin"] + b["ymax"]) / 2)
            points, kind = [[cx, cy], [b["xmax"], cy]], "circle"
        else:
            points, kind = [[b["xmin"], b["ymin"]], [b["xmax"], b["ymax"]]], "rectangle"
    else:
        key = {"POLYGON": "polygon", "POLYLINE2D": "polyline2d", "KEYPOINTS2D": "keypoints2d"}[t]
        points = [[p["x"], p["y"]] for p in obj[key]]
        kind = {"POLYGON": "polygon", "KEYPOINTS2D": "point"}.get(t) or ("line" if kind == "line" else "linestrip")
    instance = obj.get("instance")
    return {"label": obj.get("category") or "", "points": points,
            "group_id": int(instance) if isinstance(instance, str) and instance.isdigit() else None,
            "description": description, "shape_type": kind, "flags": attributes}


def _indent_of(text: str) -> int | None:
    for line in text.split("\n", 3)[1:3]:
        stripped = line.lstrip(" ")
        if stripped and len(line) != len(stripped):
            return len(line) - len(stripped)
    return None


def dump(original: str | None, label: Mapping[str, Any], *, image_path: str,
         image_size: tuple[int, int] | None = None, file: str = "<labelme>") -> str:
    """The labelme JSON of one image's ``label``; ``image_path`` is written as ``imagePath``
    of a new file (relative to the JSON file). ``original`` comes back unchanged when it
    already reads as ``label``."""
    wanted = [(t, o) for t in TYPES if t != "CLASSIFICATION" for o in label.get(t) or []]
    if original is not None:
        _, old_label, parsed = parse(original, file=file)
        if not parsed.ok:
            raise FormatError(parsed.diagnostics)
        if old_label == {k: v for k, v in label.items() if v}:
            return original
        top = json.loads(original)
        indent = _indent_of(original)
    else:
        top = {"version": "5.4.1", "flags": {}, "shapes": [], "imagePath": image_path, "imageData": None}
        if image_size is not None:
            top["imageHeight"], top["imageWidth"] = image_size[1], image_size[0]
        indent = 2
    # the k-th shape of a type in the original is replaced by the k-th object of that type
    per_type: dict[str, list[Any]] = {}
    for t, o in wanted:
        per_type.setdefault(t, []).append(o)
    used: dict[str, int] = {}
    shapes: list[Any] = []
    for shape in top.get("shapes") or []:
        t, obj = shape_object(shape)
        k = used.get(t, 0)
        if k < len(per_type.get(t, [])):
            used[t] = k + 1
            shapes.append(shape if per_type[t][k] == obj else object_shape(t, per_type[t][k]))
    for t, objs in per_type.items():
        shapes += [object_shape(t, o) for o in objs[used.get(t, 0):]]
    top["shapes"] = shapes
    top["flags"] = dict((label.get("CLASSIFICATION") or {}).get("attributes") or {})
    end = "\n" if original is None or original.endswith("\n") else ""
    return json.dumps(top, ensure_ascii=False, indent=indent) + end


# ---------------------------------------------------------------- directories


def read(labels_dir: Path, *, data_dir: Path | None = None, display: str | None = None) -> Parsed:
    """Every ``*.json`` below ``labels_dir`` (sorted), labels by image remotePath."""
    data_dir = data_dir or labels_dir
    out = Parsed()
    first: dict[str, str] = {}
    shown = display or str(labels_dir)
    for path in sorted(labels_dir.rglob("*.json")):
        file = f"{shown}/{path.relative_to(labels_dir).as_posix()}"
        name, label, parsed = parse(read_text(path), file=file, json_dir=path.parent.resolve().as_posix(),
                                    data_dir=data_dir.resolve().as_posix())
        out.diagnostics += parsed.diagnostics
        if name is None:
            continue
        if name in first:
            out.diagnostics.append(problem(file, 1, 1, f"{name!r} is also labelled by {first[name]}",
                                           "keep one labelme file per image"))
            continue
        first[name] = file
        out.labels[name] = label
        out.origin[name] = file
    return out


def write(labels_dir: Path, labels: Mapping[str, Mapping[str, Any]], *, data_dir: Path | None = None,
          image_size: Any = None) -> list[Path]:
    """Write each image's label into its labelme file (new: ``<labels_dir>/<remotePath
    stem>.json``); return the files whose bytes changed."""
    data_dir = data_dir or labels_dir
    existing: dict[str, Path] = {}
    if labels_dir.exists():
        for path in sorted(labels_dir.rglob("*.json")):
            name, _, parsed = parse(read_text(path), json_dir=path.parent.resolve().as_posix(),
                                    data_dir=data_dir.resolve().as_posix())
            if name is not None and parsed.ok:
                existing.setdefault(name, path)
    changed: list[Path] = []
    for remote_path in sorted(labels):
        path = existing.get(remote_path) or labels_dir / (str(Path(remote_path).with_suffix("")) + ".json")
        original = read_text(path) if path.exists() else None
        image_path = posixpath.relpath((data_dir / remote_path).resolve().as_posix(), path.parent.resolve().as_posix())
        size = image_size(remote_path) if image_size is not None and original is None else None
        if write_text(path, dump(original, labels[remote_path], image_path=image_path, image_size=size, file=str(path))):
            changed.append(path)
    return changed


def catalog_from(labels_dir: Path, *, data_dir: Path | None = None) -> dict[str, Any]:
    """The classes found, per label type; flags and ``shape_type``/``description`` as
    attributes; one-point keypoints for ``point`` classes."""
    labels = read(labels_dir, data_dir=data_dir).labels
    names: dict[str, set[str]] = {}
    attrs: dict[str, dict[str, dict[str, Any]]] = {}
    for label in labels.values():
        for t, value in label.items():
            for obj in value if isinstance(value, list) else [value]:
                if "category" in obj:
                    names.setdefault(t, set()).add(obj["category"])
                else:
                    names.setdefault(t, set())
                for a, v in (obj.get("attributes") or {}).items():
                    spec = {"name": a, "type": "boolean" if isinstance(v, bool) else "string"}
                    if a == "shape_type":
                        spec["enum"] = ["circle"] if t == "BOX2D" else ["line"]
                        del spec["type"]
                    attrs.setdefault(t, {})[a] = spec
    out: dict[str, Any] = {}
    for t in TYPES:
        if t not in names:
            continue
        sub: dict[str, Any] = {}
        if names[t]:
            sub["categories"] = [{"name": n} for n in sorted(names[t])]
        if attrs.get(t):
            sub["attributes"] = [attrs[t][a] for a in sorted(attrs[t])]
        if t == "KEYPOINTS2D":
            sub["keypoints"] = [{"number": 1, "parentCategories": sorted(names[t])}]
        out[t] = sub
    return out
