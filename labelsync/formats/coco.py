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
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from labelsync.errors import LocalDataError
from labelsync.formats import rle
from labelsync.formats.files import read_text, write_text
from labelsync.formats.problems import FormatError, JsonDoc, Labels, Parsed, line_col, problem
from labelsync.local.labels import remote_path_problem

EDGE_TOLERANCE = 1e-3
"""Pixels a box may reach past the image edge (float rounding of other tools)."""

ROUND_DIGITS = 10
LIST_TYPES = ("BOX2D", "POLYGON", "MULTI_POLYGON", "RLE", "KEYPOINTS2D")
ImageSize = Callable[[str], tuple[int, int]]
"""remotePath -> (width, height), for images a new COCO file must describe."""


def _int(v: Any) -> bool:
    return type(v) is int


_NUMBER_TYPES = frozenset((int, float))


def _numbers(values: list[Any]) -> bool:
    """All JSON numbers (no bool), all finite: checked in C, not per element in Python."""
    return set(map(type, values)) <= _NUMBER_TYPES and math.isfinite(sum(values))


def _ints(values: list[Any]) -> bool:
    return set(map(type, values)) <= {int}


def _load(text: str, file: str, parsed: Parsed) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        parsed.diagnostics.append(problem(file, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}", "fix the JSON syntax"))
    except RecursionError:
        parsed.diagnostics.append(problem(file, 1, 1, "invalid JSON: nested too deeply"))
    return None


def _r(v: Any) -> Any:
    """Sums and differences of pixel coordinates rounded to 10 decimals, so that
    ``x + w`` read and ``xmax - xmin`` written give back COCO's own numbers."""
    return round(v, ROUND_DIGITS) if type(v) is float else v


def _points(flat: list[Any]) -> list[dict[str, Any]]:
    return [{"x": x, "y": y} for x, y in zip(flat[0::2], flat[1::2], strict=False)]


class _Reader:
    def __init__(self, text: str, file: str) -> None:
        self.doc = JsonDoc(file, text)
        self.parsed = Parsed()
        self.add = self.parsed.diagnostics.append
        self.images: dict[int, dict[str, Any]] = {}
        self.categories: dict[int, dict[str, Any]] = {}
        self.used: set[str] = set()
        self.fragments: dict[int, dict[str, list[Any]]] = {}
        """annotation id -> the label objects it became, by type (for the writer)."""
        self.image_index: dict[str, int] = {}
        """file_name -> index in ``images`` (to locate an image's problems)."""

    def err(self, path: tuple[str | int, ...], message: str, fix: str | None = None) -> None:
        self.add(self.doc.problem(path, message, fix))

    def run(self, top: Any) -> Parsed:
        if not isinstance(top, dict):
            self.err((), "a COCO file is a JSON object with images, annotations and categories")
            return self.parsed
        for key in ("images", "categories"):
            if not isinstance(top.get(key), list):
                self.err((key,) if key in top else (), f"'{key}' must be a list", f"add \"{key}\": [...]")
        if "annotations" in top and not isinstance(top["annotations"], list):
            self.err(("annotations",), "'annotations' must be a list")
        self.read_categories(top.get("categories"))
        self.read_images(top.get("images"))
        anns = top.get("annotations")
        if isinstance(anns, list):
            self.read_annotations(anns)
        return self.parsed

    def read_categories(self, cats: Any) -> None:
        if not isinstance(cats, list):
            return
        names: dict[str, int] = {}
        for i, c in enumerate(cats):
            p: tuple[str | int, ...] = ("categories", i)
            if not isinstance(c, dict) or not _int(c.get("id")):
                self.err(p + (("id",) if isinstance(c, dict) and "id" in c else ()), "a category needs an integer 'id'")
                continue
            cid = c["id"]
            if not isinstance(c.get("name"), str) or not c["name"]:
                self.err(p, f"category {cid} needs a 'name'")
                continue
            if cid in self.categories:
                self.err(p + ("id",), f"duplicate category id {cid}", "give every category its own id")
                continue
            if c["name"] in names:
                self.err(p + ("name",), f"duplicate category name {c['name']!r} (also id {names[c['name']]})")
                continue
            kps = c.get("keypoints")
            if kps is not None and not (isinstance(kps, list) and all(isinstance(k, str) for k in kps)):
                self.err(p + ("keypoints",), f"category {cid}: 'keypoints' must be a list of names")
                continue
            names[c["name"]] = cid
            self.categories[cid] = c

    def read_images(self, images: Any) -> None:
        if not isinstance(images, list):
            return
        files: dict[str, int] = {}
        labels = self.parsed.labels
        for i, im in enumerate(images):
            p: tuple[str | int, ...] = ("images", i)
            if not isinstance(im, dict) or not _int(im.get("id")):
                self.err(p, "an image needs an integer 'id'")
                continue
            iid = im["id"]
            if iid in self.images:
                self.err(p + ("id",), f"duplicate image id {iid}", "give every image its own id")
                continue
            name = im.get("file_name")
            if not isinstance(name, str) or not name:
                self.err(p, f"image id {iid} has no file_name", "name the image file, relative to the data directory")
                continue
            bad = remote_path_problem(name)
            if bad:
                self.err(p + ("file_name",), f"image id {iid}: {bad.replace(chr(39) + 'remotePath' + chr(39), 'file_name')}",
                         "name the image relative to the data directory, with '/'")
                continue
            if name in files:
                self.err(p + ("file_name",), f"image file {name!r} listed twice (ids {files[name]} and {iid})")
                continue
            w, h = im.get("width"), im.get("height")
            if not (isinstance(w, int) and isinstance(h, int) and _int(w) and _int(h) and w > 0 and h > 0):
                self.err(p, f"image id {iid} needs a positive integer width and height")
                continue
            files[name] = iid
            self.images[iid] = im
            labels[name] = {}
            self.image_index[name] = i

    def read_annotations(self, anns: list[Any]) -> None:
        seen: dict[int, int] = {}
        for i, a in enumerate(anns):
            p: tuple[str | int, ...] = ("annotations", i)
            if not isinstance(a, dict) or not _int(a.get("id")):
                self.err(p, "an annotation needs an integer 'id'")
                continue
            aid = a["id"]
            if aid in seen:
                self.err(p + ("id",), f"duplicate annotation id {aid} (first at annotations[{seen[aid]}])",
                         "give every annotation its own id")
                continue
            seen[aid] = i
            image = self.images.get(a.get("image_id"))  # type: ignore[arg-type]
            if image is None:
                self.err(p + ("image_id",), f"annotation {aid}: image_id {a.get('image_id')!r} names no image with a file",
                         "add the image to 'images' or fix image_id")
                continue
            if "category_id" not in a:
                self.err(p, f"annotation {aid} has no category_id", "add the category_id of one of 'categories'")
                continue
            cat = self.categories.get(a["category_id"])
            if cat is None or not _int(a["category_id"]):
                self.err(p + ("category_id",), f"annotation {aid}: category_id {a['category_id']!r} is not in categories",
                         "use the id of one of 'categories' or add the category")
                continue
            frag = self.annotation(a, p, image, cat)
            if frag is None:
                continue
            self.fragments[aid] = frag
            label = self.parsed.labels[image["file_name"]]
            for t, objs in frag.items():
                label.setdefault(t, []).extend(objs)
                self.used.add(t)

    def annotation(self, a: dict[str, Any], p: tuple[str | int, ...], image: dict[str, Any],
                   cat: dict[str, Any]) -> dict[str, list[Any]] | None:
        aid = a["id"]
        W, H = image["width"], image["height"]
        common: dict[str, Any] = {"category": cat["name"], "instance": str(aid)}
        crowd = a.get("iscrowd", 0)
        if crowd not in (0, 1) or isinstance(crowd, bool):
            self.err(p + ("iscrowd",), f"annotation {aid}: iscrowd must be 0 or 1")
            return None
        if crowd == 1:
            common["attributes"] = {"iscrowd": True}
        out: dict[str, list[Any]] = {}
        bbox = a.get("bbox")
        if bbox is not None:
            if not (isinstance(bbox, list) and len(bbox) == 4 and _numbers(bbox)):
                self.err(p + ("bbox",), f"annotation {aid}: bbox must be [x, y, width, height] numbers")
                return None
            x, y, w, h = bbox
            if w < 0 or h < 0:
                self.err(p + ("bbox",), f"annotation {aid}: bbox width and height must not be negative")
                return None
            t = EDGE_TOLERANCE
            if x < -t or y < -t or x + w > W + t or y + h > H + t:
                self.err(p + ("bbox",), f"annotation {aid}: box [{x}, {y}, {w}, {h}] is outside the {W}x{H} image",
                         "clip the box to the image (x+width <= width, y+height <= height)")
                return None
            out["BOX2D"] = [{"box2d": {"xmin": x, "ymin": y, "xmax": _r(x + w), "ymax": _r(y + h)}, **common}]
        seg = a.get("segmentation")
        if isinstance(seg, list) and seg:
            polys = []
            for j, poly in enumerate(seg):
                if not (isinstance(poly, list) and len(poly) >= 6 and len(poly) % 2 == 0 and _numbers(poly)):
                    self.err(p + ("segmentation", j), f"annotation {aid}: a polygon is a flat list of at least 3 x,y pairs")
                    return None
                polys.append(_points(poly))
            if len(polys) == 1:
                out["POLYGON"] = [{"polygon": polys[0], **common}]
            else:
                out["MULTI_POLYGON"] = [{"multiPolygon": polys, **common}]
        elif isinstance(seg, dict):
            counts = self.rle(seg, p + ("segmentation",), aid, W, H)
            if counts is None:
                return None
            out["RLE"] = [{"rle": counts, **common}]
        elif seg is not None and seg != []:
            self.err(p + ("segmentation",), f"annotation {aid}: segmentation must be polygons or an RLE object")
            return None
        kps = a.get("keypoints")
        if kps is not None:
            names = cat.get("keypoints") or []
            if not (isinstance(kps, list) and _numbers(kps)) or len(kps) != 3 * len(names):
                self.err(p + ("keypoints",), f"annotation {aid}: {len(kps) if isinstance(kps, list) else 0} keypoint values, "
                         f"category {cat['name']!r} has {len(names)} keypoints (3 values each)",
                         "give x, y, v for each of the category's keypoints")
                return None
            if names:
                points = [{"x": x, "y": y, "v": v} for x, y, v in zip(kps[0::3], kps[1::3], kps[2::3], strict=True)]
                out["KEYPOINTS2D"] = [{"keypoints2d": points, **common}]
        return out

    def rle(self, seg: dict[str, Any], p: tuple[str | int, ...], aid: int, W: int, H: int) -> list[int] | None:
        size, counts = seg.get("size"), seg.get("counts")
        if size != [H, W]:
            self.err(p + ("size",), f"annotation {aid}: RLE size {size!r} is not the image's [height, width] [{H}, {W}]")
            return None
        if isinstance(counts, str):
            try:
                values = rle.decode_counts(counts)
            except ValueError as exc:
                self.err(p + ("counts",), f"annotation {aid}: bad compressed RLE: {exc}")
                return None
        elif isinstance(counts, list) and _ints(counts):
            values = list(counts)
        else:
            self.err(p + ("counts",), f"annotation {aid}: RLE counts must be a string or a list of integers")
            return None
        if (values and min(values) < 0) or sum(values) != W * H:
            self.err(p + ("counts",), f"annotation {aid}: RLE counts must be non-negative and sum to {W}*{H} = {W * H}")
            return None
        return values


def parse(text: str, *, file: str = "<coco>") -> Parsed:
    """Read a COCO document's text into labels (remotePath -> label), diagnostics and the
    catalog (:func:`catalog_of`)."""
    parsed = Parsed()
    top = _load(text, file, parsed)
    if parsed.diagnostics:
        return parsed
    reader = _Reader(text, file)
    parsed = reader.run(top)
    parsed.catalog = _catalog(reader)
    index = reader.image_index
    parsed.locate = lambda rp: reader.doc.at(("images", index[rp])) if rp in index else (1, 1)
    return parsed


def read(path: Path, *, display: str | None = None) -> Parsed:
    """:func:`parse` the file at ``path`` (``LocalDataError`` when it cannot be read)."""
    return parse(read_text(path), file=display or str(path))


def _catalog(reader: _Reader) -> dict[str, Any]:
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
    def __init__(self, doc: dict[str, Any], old: _Reader | None, catalog: Mapping[str, Any] | None,
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
    old: _Reader | None = None
    if original is not None:
        parsed = parse(original, file=file)
        if not parsed.ok:
            raise FormatError(parsed.diagnostics)
        if all(k in parsed.labels and parsed.labels[k] == v for k, v in labels.items()):
            return original
        doc = json.loads(original)
        old = _Reader(original, "<coco>")
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
