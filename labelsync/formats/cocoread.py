"""The checks and label building of COCO reading (:mod:`labelsync.formats.coco` has the contract).

:class:`CocoReader` walks a parsed COCO document once: categories, then images, then
annotations, each turned into TensorBay label objects or into one diagnostic. It is the hot
path of validating a large COCO file, so the valid case does as little as it can per value
(types checked in C over whole lists, no JSON paths built); positions of problems are found
only when one is reported (:class:`~labelsync.formats.problems.JsonDoc`).
"""

from __future__ import annotations

import math
from typing import Any

from labelsync.formats import rle
from labelsync.formats.problems import JsonDoc, Parsed
from labelsync.local.labels import remote_path_problem

EDGE_TOLERANCE = 1e-3
"""Pixels a box may reach past the image edge (float rounding of other tools)."""

ROUND_DIGITS = 10
_NUMBER_TYPES = frozenset((int, float))
_INT_TYPES = frozenset((int,))


def _int(v: Any) -> bool:
    return type(v) is int


def numbers(values: list[Any]) -> bool:
    """All JSON numbers (no bool), all finite: checked in C, not per element in Python."""
    return set(map(type, values)) <= _NUMBER_TYPES and math.isfinite(sum(values))


def rounded(v: Any) -> Any:
    """Sums and differences of pixel coordinates rounded to 10 decimals, so that
    ``x + w`` read and ``xmax - xmin`` written give back COCO's own numbers."""
    return round(v, ROUND_DIGITS) if type(v) is float else v


class CocoReader:
    """Reads one COCO document (its text, for positions, and its parsed value) into
    :attr:`parsed`; :attr:`fragments` keeps what each annotation became (for the writer)."""

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
        self.anns: list[Any] = []
        self._objects: dict[tuple[Any, str], list[int]] | None = None

    def object_at(self, remote_path: str, kind: str, index: int, rest: tuple[str | int, ...]) -> tuple[int, int] | None:
        """The position of the annotation that became object ``index`` of ``kind`` in the label
        of ``remote_path`` (its ``category_id`` when ``rest`` starts with ``category``). The
        first call indexes every annotation's objects in one pass (only problems ask)."""
        if self._objects is None:
            self._objects = {}
            files = {iid: image.get("file_name") for iid, image in self.images.items()}
            done: set[int] = set()
            for i, a in enumerate(self.anns):
                aid = a.get("id") if type(a) is dict else None
                frag = self.fragments.get(aid) if type(aid) is int and aid not in done else None
                if frag is None or type(aid) is not int:
                    continue
                done.add(aid)
                for t, objs in frag.items():
                    self._objects.setdefault((files.get(a.get("image_id")), t), []).extend([i] * len(objs))
        at = self._objects.get((remote_path, kind)) or []
        if not 0 <= index < len(at):
            return None
        a = self.anns[at[index]]
        key = "category_id" if rest and rest[0] == "category" and "category_id" in a else None
        return self.doc.at(("annotations", at[index], key) if key is not None else ("annotations", at[index]))

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
            self.anns = anns
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
            if type(im) is not dict or type(im.get("id")) is not int:
                self.err(("images", i), "an image needs an integer 'id'")
                continue
            iid = im["id"]
            if iid in self.images:
                self.err(("images", i, "id"), f"duplicate image id {iid}", "give every image its own id")
                continue
            name = im.get("file_name")
            if not isinstance(name, str) or not name:
                self.err(("images", i), f"image id {iid} has no file_name",
                         "name the image file, relative to the data directory")
                continue
            bad = remote_path_problem(name)
            if bad:
                self.err(("images", i, "file_name"),
                         f"image id {iid}: {bad.replace(chr(39) + 'remotePath' + chr(39), 'file_name')}",
                         "name the image relative to the data directory, with '/'")
                continue
            if name in files:
                self.err(("images", i, "file_name"), f"image file {name!r} listed twice (ids {files[name]} and {iid})")
                continue
            w, h = im.get("width"), im.get("height")
            if not (type(w) is int and type(h) is int and w > 0 and h > 0):
                self.err(("images", i), f"image id {iid} needs a positive integer width and height")
                continue
            files[name] = iid
            self.images[iid] = im
            labels[name] = {}
            self.image_index[name] = i

    def read_annotations(self, anns: list[Any]) -> None:
        seen: dict[int, int] = {}
        images, categories = self.images, self.categories
        labels, fragments, used = self.parsed.labels, self.fragments, self.used
        for i, a in enumerate(anns):
            if type(a) is not dict or type(a.get("id")) is not int:
                self.err(("annotations", i), "an annotation needs an integer 'id'")
                continue
            aid = a["id"]
            if aid in seen:
                self.err(("annotations", i, "id"), f"duplicate annotation id {aid} (first at annotations[{seen[aid]}])",
                         "give every annotation its own id")
                continue
            seen[aid] = i
            image = images.get(a.get("image_id"))  # type: ignore[arg-type]
            if image is None:
                self.err(("annotations", i, "image_id"),
                         f"annotation {aid}: image_id {a.get('image_id')!r} names no image with a file",
                         "add the image to 'images' or fix image_id")
                continue
            if "category_id" not in a:
                self.err(("annotations", i), f"annotation {aid} has no category_id",
                         "add the category_id of one of 'categories'")
                continue
            cat = categories.get(a["category_id"])
            if cat is None or type(a["category_id"]) is not int:
                self.err(("annotations", i, "category_id"),
                         f"annotation {aid}: category_id {a['category_id']!r} is not in categories",
                         "use the id of one of 'categories' or add the category")
                continue
            frag = self.annotation(a, i, image, cat)
            if frag is None:
                continue
            fragments[aid] = frag
            label = labels[image["file_name"]]
            for t, objs in frag.items():
                if t in label:
                    label[t].extend(objs)
                else:
                    label[t] = list(objs)
                    used.add(t)

    def annotation(self, a: dict[str, Any], i: int, image: dict[str, Any],
                   cat: dict[str, Any]) -> dict[str, list[Any]] | None:
        aid = a["id"]
        W, H = image["width"], image["height"]
        name, instance = cat["name"], str(aid)
        crowd = a.get("iscrowd", 0)
        if crowd not in (0, 1) or isinstance(crowd, bool):
            self.err(("annotations", i, "iscrowd"), f"annotation {aid}: iscrowd must be 0 or 1")
            return None
        attributes = {"iscrowd": True} if crowd == 1 else None
        out: dict[str, list[Any]] = {}
        bbox = a.get("bbox")
        if bbox is not None:
            if not (type(bbox) is list and len(bbox) == 4 and numbers(bbox)):
                self.err(("annotations", i, "bbox"), f"annotation {aid}: bbox must be [x, y, width, height] numbers")
                return None
            x, y, w, h = bbox
            if w < 0 or h < 0:
                self.err(("annotations", i, "bbox"), f"annotation {aid}: bbox width and height must not be negative")
                return None
            e = EDGE_TOLERANCE
            if x < -e or y < -e or x + w > W + e or y + h > H + e:
                self.err(("annotations", i, "bbox"),
                         f"annotation {aid}: box [{x}, {y}, {w}, {h}] is outside the {W}x{H} image",
                         "clip the box to the image (x+width <= width, y+height <= height)")
                return None
            xmax, ymax = x + w, y + h
            box = {"xmin": x, "ymin": y,
                   "xmax": round(xmax, ROUND_DIGITS) if type(xmax) is float else xmax,
                   "ymax": round(ymax, ROUND_DIGITS) if type(ymax) is float else ymax}
            out["BOX2D"] = [{"box2d": box, "category": name, "instance": instance} if attributes is None else
                            {"box2d": box, "category": name, "instance": instance, "attributes": attributes}]
        seg = a.get("segmentation")
        if type(seg) is list and seg:
            polys = []
            for j, poly in enumerate(seg):
                if not (type(poly) is list and len(poly) >= 6 and len(poly) % 2 == 0 and numbers(poly)):
                    self.err(("annotations", i, "segmentation", j),
                             f"annotation {aid}: a polygon is a flat list of at least 3 x,y pairs")
                    return None
                it = iter(poly)
                polys.append([{"x": x, "y": y} for x, y in zip(it, it, strict=False)])
            value: Any = polys[0] if len(polys) == 1 else polys
            key, kind = ("polygon", "POLYGON") if len(polys) == 1 else ("multiPolygon", "MULTI_POLYGON")
            out[kind] = [{key: value, "category": name, "instance": instance} if attributes is None else
                         {key: value, "category": name, "instance": instance, "attributes": attributes}]
        elif isinstance(seg, dict):
            counts = self.rle(seg, i, aid, W, H)
            if counts is None:
                return None
            out["RLE"] = [{"rle": counts, "category": name, "instance": instance} if attributes is None else
                          {"rle": counts, "category": name, "instance": instance, "attributes": attributes}]
        elif seg is not None and seg != []:
            self.err(("annotations", i, "segmentation"), f"annotation {aid}: segmentation must be polygons or an RLE object")
            return None
        kps = a.get("keypoints")
        if kps is not None:
            names = cat.get("keypoints") or []
            if not (type(kps) is list and numbers(kps)) or len(kps) != 3 * len(names):
                self.err(("annotations", i, "keypoints"),
                         f"annotation {aid}: {len(kps) if isinstance(kps, list) else 0} keypoint values, "
                         f"category {name!r} has {len(names)} keypoints (3 values each)",
                         "give x, y, v for each of the category's keypoints")
                return None
            if names:
                it = iter(kps)
                points = [{"x": x, "y": y, "v": v} for x, y, v in zip(it, it, it, strict=False)]
                out["KEYPOINTS2D"] = [
                    {"keypoints2d": points, "category": name, "instance": instance} if attributes is None else
                    {"keypoints2d": points, "category": name, "instance": instance, "attributes": attributes}]
        return out

    def rle(self, seg: dict[str, Any], i: int, aid: int, W: int, H: int) -> list[int] | None:
        p = ("annotations", i, "segmentation")
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
        elif isinstance(counts, list) and set(map(type, counts)) <= _INT_TYPES:
            values = list(counts)
        else:
            self.err(p + ("counts",), f"annotation {aid}: RLE counts must be a string or a list of integers")
            return None
        if (values and min(values) < 0) or sum(values) != W * H:
            self.err(p + ("counts",), f"annotation {aid}: RLE counts must be non-negative and sum to {W}*{H} = {W * H}")
            return None
        return values
