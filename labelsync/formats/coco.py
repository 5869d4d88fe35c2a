"""COCO object detection / keypoints JSON <-> TensorBay labels.

One COCO file holds the labels of many images. Reading (conventions in ``docs/formats.md``):

* ``images[i].file_name`` is the remotePath (relative to the segment's data directory);
  every image gets a label, ``{}`` when it has no annotation.
* each annotation becomes up to three label objects sharing ``instance = str(id)`` and the
  category's ``name``: ``bbox [x, y, w, h]`` -> BOX2D ``{xmin: x, ymin: y, xmax: x+w, ymax: y+h}``;
  ``segmentation`` as polygons -> POLYGON (one) or MULTI_POLYGON (several), as RLE
  (``{"size": [h, w], "counts": str | [int]}``) -> RLE with the uncompressed counts;
  ``keypoints [x1, y1, v1, ...]`` -> KEYPOINTS2D ``[{x, y, v}]``. ``iscrowd: 1`` is the
  boolean attribute ``iscrowd: true`` on each of them (left out when 0).
* coordinates are COCO's: pixels, origin at the top-left corner of the top-left pixel, box
  corners are pixel edges (a box covering pixel columns 0..9 has ``x = 0, w = 10``).

Checks (one diagnostic each, ``file:line:column`` of the offending value): malformed JSON,
missing/duplicate ids (images, categories, annotations), an image without ``file_name`` or a
positive size, an annotation whose ``image_id`` names no image, a missing or unknown
``category_id``, a box with negative size or outside the image, odd or short polygons, an
RLE whose size differs from the image's or whose counts do not cover it, keypoints whose
count differs from the category's ``keypoints``.

Writing (:func:`dump`) keeps the original document: when the labels equal what the original
text reads as, the text is returned unchanged; otherwise each annotation whose labels did not
change keeps its original JSON object (``area``, extra keys, RLE form), changed and new ones
are rebuilt, and the document is dumped in the original's indentation (compact for a new
file). Images not in ``labels`` keep their annotations.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from labelsync.errors import LocalDataError
from labelsync.formats import rle
from labelsync.formats.cocoread import CocoReader
from labelsync.formats.cocoread import rounded as _r
from labelsync.formats.files import read_text, write_text
from labelsync.formats.gcpause import FREEZE_CHARS, gc_paused
from labelsync.formats.problems import FormatError, Labels, Parsed, line_col, problem

LIST_TYPES = ("BOX2D", "POLYGON", "MULTI_POLYGON", "RLE", "KEYPOINTS2D")
ImageSize = Callable[[str], tuple[int, int]]
"""remotePath -> (width, height), for images a new COCO file must describe."""


def _int(v: Any) -> bool:
    return type(v) is int


def _load(text: str, file: str, parsed: Parsed) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        parsed.diagnostics.append(problem(file, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}", "fix the JSON syntax"))
    except RecursionError:
        parsed.diagnostics.append(problem(file, 1, 1, "invalid JSON: nested too deeply"))
    return None


def parse(text: str, *, file: str = "<coco>") -> Parsed:
    """Read a COCO document's text into labels (remotePath -> label), diagnostics and the
    catalog (:func:`catalog_of`)."""
    parsed = Parsed()
    with gc_paused(freeze=len(text) >= FREEZE_CHARS):
        top = _load(text, file, parsed)
        if parsed.diagnostics:
            return parsed
        reader = CocoReader(text, file)
        parsed = reader.run(top)
    parsed.catalog = _catalog(reader)
    index = reader.image_index
    parsed.locate = lambda rp: reader.doc.at(("images", index[rp])) if rp in index else (1, 1)
    parsed.locate_object = reader.object_at
    return parsed


def read(path: Path, *, display: str | None = None) -> Parsed:
    """:func:`parse` the file at ``path`` (``LocalDataError`` when it cannot be read)."""
    return parse(read_text(path), file=display or str(path))


def _catalog(reader: CocoReader) -> dict[str, Any]:
    cats = [reader.categories[k] for k in sorted(reader.categories)]
    plain = [{"name": c["name"]} for c in cats]
    out: dict[str, Any] = {}
    for t in LIST_TYPES:
        if t not in reader.used and not (t == "BOX2D" and not reader.used):
            continue
        sub: dict[str, Any] = {"categories": plain, "attributes": [{"name": "iscrowd", "type": "boolean"}]}
        if t == "KEYPOINTS2D":
            kcats = [c for c in cats if c.get("keypoints")]
            sub["categories"] = [{"name": c["name"]} for c in kcats]
            sub["keypoints"] = [
                {"number": len(c["keypoints"]), "names": list(c["keypoints"]),
                 "skeleton": [[i - 1, j - 1] for i, j in c.get("skeleton") or []],
                 "visible": "TERNARY", "parentCategories": [c["name"]]}
                for c in kcats
            ]
        out[t] = sub
    return out


def catalog_of(text: str, *, file: str = "<coco>") -> dict[str, Any]:
    """The TensorBay catalog of a COCO document: its categories (in id order) for every label
    type its annotations use (BOX2D when none), ``iscrowd`` as a boolean attribute, keypoint
    definitions with the skeleton (COCO's 1-based pairs made 0-based). Problems of the file
    raise :class:`~labelsync.formats.problems.FormatError`."""
    parsed = parse(text, file=file)
    parsed.raise_for_errors()
    assert parsed.catalog is not None
    return parsed.catalog


def catalog_from(path: Path) -> dict[str, Any]:
    """:func:`catalog_of` the file at ``path``."""
    return catalog_of(read_text(path), file=str(path))


# ---------------------------------------------------------------- writing


def _indent_of(text: str) -> int | None:
    for line in text.split("\n", 3)[1:3]:
        stripped = line.lstrip(" ")
        if stripped and len(line) != len(stripped):
            return len(line) - len(stripped)
    return None


def _flat(points: list[Mapping[str, Any]]) -> list[Any]:
    return [v for pt in points for v in (pt["x"], pt["y"])]


def _shoelace(flat: list[Any]) -> float:
    xs, ys = flat[0::2], flat[1::2]
    n = len(xs)
    return abs(sum(xs[i] * ys[(i + 1) % n] - xs[(i + 1) % n] * ys[i] for i in range(n))) / 2


class _Writer:
    def __init__(self, doc: dict[str, Any], old: CocoReader | None, catalog: Mapping[str, Any] | None,
                 image_size: ImageSize | None) -> None:
        self.doc = doc
        self.old = old
        self.catalog = catalog or {}
        self.image_size = image_size
        self.cat_ids = {c["name"]: c["id"] for c in doc["categories"] if isinstance(c, dict) and "name" in c}
        self.by_id = {a["id"]: a for a in doc["annotations"] if isinstance(a, dict) and _int(a.get("id"))}
        self.used_ids = set(self.by_id)
        self.by_file = {im["file_name"]: im for im in doc["images"] if isinstance(im, dict) and "file_name" in im}

    def category_id(self, name: str | None) -> int:
        name = name or "object"
        if name not in self.cat_ids:
            new_id = max(self.cat_ids.values(), default=0) + 1
            entry: dict[str, Any] = {"id": new_id, "name": name, "supercategory": ""}
            for kp in (self.catalog.get("KEYPOINTS2D") or {}).get("keypoints") or []:
                if name in (kp.get("parentCategories") or []):
                    entry["keypoints"] = list(kp.get("names") or [str(k) for k in range(kp["number"])])
                    entry["skeleton"] = [[i + 1, j + 1] for i, j in kp.get("skeleton") or []]
            self.doc["categories"].append(entry)
            self.cat_ids[name] = new_id
        return self.cat_ids[name]

    def image(self, remote_path: str) -> dict[str, Any]:
        if remote_path in self.by_file:
            return self.by_file[remote_path]
        if self.image_size is None:
            raise LocalDataError(f"no size known for the new image {remote_path!r}",
                                 hint="list the image in the COCO file's images, or pass its size")
        w, h = self.image_size(remote_path)
        ids = [im["id"] for im in self.doc["images"] if isinstance(im, dict) and _int(im.get("id"))]
        entry = {"id": max(ids, default=0) + 1, "file_name": remote_path, "width": w, "height": h}
        self.doc["images"].append(entry)
        self.by_file[remote_path] = entry
        return entry

    def new_id(self, instance: Any) -> int:
        if isinstance(instance, str) and instance.isdigit() and int(instance) not in self.used_ids:
            aid = int(instance)
        else:
            aid = max(self.used_ids, default=0) + 1
        self.used_ids.add(aid)
        return aid

    def annotation(self, group: dict[str, list[Any]], image: dict[str, Any], old: dict[str, Any] | None,
                   aid: int) -> dict[str, Any]:
        first = next(o for objs in group.values() for o in objs)
        ann: dict[str, Any] = {"id": aid, "image_id": image["id"], "category_id": self.category_id(first.get("category"))}
        crowd = bool((first.get("attributes") or {}).get("iscrowd"))
        seg: Any = []
        area: float = 0
        if "RLE" in group:
            counts = list(group["RLE"][0]["rle"])
            old_seg = (old or {}).get("segmentation")
            compressed = not (isinstance(old_seg, dict) and isinstance(old_seg.get("counts"), list))
            seg = {"size": [image["height"], image["width"]],
                   "counts": rle.encode_counts(counts) if compressed else counts}
            area = rle.area(counts)
            box = rle.bbox(counts, image["height"])
        elif "POLYGON" in group or "MULTI_POLYGON" in group:
            polys = ([group["POLYGON"][0]["polygon"]] if "POLYGON" in group
                     else group["MULTI_POLYGON"][0]["multiPolygon"])
            seg = [_flat(p) for p in polys]
            area = sum(_shoelace(f) for f in seg)
            xs = [v for f in seg for v in f[0::2]]
            ys = [v for f in seg for v in f[1::2]]
            box = (min(xs), min(ys), _r(max(xs) - min(xs)), _r(max(ys) - min(ys)))
        else:
            box = None
        if "BOX2D" in group:
            b = group["BOX2D"][0]["box2d"]
            box = (b["xmin"], b["ymin"], _r(b["xmax"] - b["xmin"]), _r(b["ymax"] - b["ymin"]))
            if not seg:
                area = box[2] * box[3]
        ann["segmentation"] = seg
        ann["area"] = area
        ann["bbox"] = list(box) if box is not None else []
        ann["iscrowd"] = 1 if crowd else 0
        if "KEYPOINTS2D" in group:
            pts = group["KEYPOINTS2D"][0]["keypoints2d"]
            ann["keypoints"] = [v for pt in pts for v in (pt["x"], pt["y"], pt.get("v", 2))]
            ann["num_keypoints"] = sum(1 for pt in pts if pt.get("v", 2) > 0)
        return ann

    def groups(self, label: Mapping[str, Any]) -> list[tuple[Any, dict[str, list[Any]]]]:
        """The label objects grouped into annotations (by ``instance``; none: one each)."""
        out: dict[Any, dict[str, list[Any]]] = {}
        n = 0
        for t in LIST_TYPES:
            for obj in label.get(t) or []:
                key = obj.get("instance")
                if key is None:
                    n += 1
                    key = ("anonymous", n)
                out.setdefault(key, {}).setdefault(t, []).append(obj)
        return list(out.items())

    def apply(self, labels: Mapping[str, Mapping[str, Any]]) -> None:
        old_frag = self.old.fragments if self.old else {}
        by_image: dict[int, list[dict[str, Any]]] = {}
        for remote_path in sorted(labels) if self.old is None else list(labels):
            image = self.image(remote_path)
            built: list[dict[str, Any]] = []
            for key, group in self.groups(labels[remote_path]):
                old_ann = None
                if isinstance(key, str) and key.isdigit() and int(key) in old_frag:
                    old_ann = self.by_id.get(int(key))
                    if old_ann is not None and old_ann.get("image_id") == image["id"] and old_frag[int(key)] == group:
                        built.append(old_ann)
                        continue
                    if old_ann is not None and old_ann.get("image_id") == image["id"]:
                        self.used_ids.discard(int(key))
                built.append(self.annotation(group, image, old_ann, self.new_id(key)))
            by_image[image["id"]] = built
        kept = [a for a in self.doc["annotations"] if not (isinstance(a, dict) and a.get("image_id") in by_image)]
        self.doc["annotations"] = kept + [a for anns in by_image.values() for a in anns]


def dump(original: str | None, labels: Mapping[str, Mapping[str, Any]], *, catalog: Mapping[str, Any] | None = None,
         image_size: ImageSize | None = None, file: str = "<coco>") -> str:
    """The COCO text holding ``labels`` (see the module docstring for what is preserved).

    ``original``: the current file's text (``None`` for a new file). ``catalog`` supplies the
    keypoint names/skeleton of new categories; ``image_size`` the size of images the original
    does not list. Raises :class:`FormatError` when the original does not read cleanly (fix it
    first; ``file`` names it in the diagnostics) and ``LocalDataError`` for an image of unknown size.
    """
    old: CocoReader | None = None
    if original is not None:
        parsed = parse(original, file=file)
        if not parsed.ok:
            raise FormatError(parsed.diagnostics)
        if all(k in parsed.labels and parsed.labels[k] == v for k, v in labels.items()):
            return original
        with gc_paused():
            doc = json.loads(original)
            old = CocoReader(original, "<coco>")
            old.run(doc)
        doc.setdefault("annotations", [])
    else:
        doc = {"images": [], "annotations": [], "categories": []}
    writer = _Writer(doc, old, catalog, image_size)
    if original is None:
        for name in _catalog_names(catalog):
            writer.category_id(name)
    writer.apply(labels)
    indent = _indent_of(original) if original is not None else None
    end = "\n" if original is None or original.endswith("\n") else ""
    return json.dumps(doc, ensure_ascii=False, indent=indent) + end


def _catalog_names(catalog: Mapping[str, Any] | None) -> list[str]:
    names: list[str] = []
    for t in LIST_TYPES:
        for c in (catalog or {}).get(t, {}).get("categories") or []:
            if c.get("name") not in names:
                names.append(c["name"])
    return names


def write(path: Path, labels: Mapping[str, Mapping[str, Any]], **options: Any) -> bool:
    """Write ``labels`` into the COCO file at ``path`` (created when missing) with :func:`dump`;
    return whether its bytes changed (unchanged: the file is not touched)."""
    original = read_text(path) if path.exists() else None
    return write_text(path, dump(original, labels, file=str(path), **options))


__all__ = ["catalog_from", "catalog_of", "dump", "line_col", "parse", "read", "write", "Labels"]
