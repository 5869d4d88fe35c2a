"""TensorBay label JSON of one image <-> Label Studio result items (predictions and annotations).

No I/O. :func:`to_results` turns the label of one data item into the ``result`` list of a
prediction, for the label config :func:`labelsync.providers.labelstudio.config.label_config`
builds from the same catalog; :func:`from_results` is the inverse (what ``pull`` reads from an
annotation). Every region item carries ``original_width``/``original_height``.

Coordinates: Label Studio keeps percentages of the image size. :func:`to_percent` is the
correctly rounded ``value * 100 / size``; :func:`to_pixel` returns the simplest number (fewest
decimals, a whole number as an ``int``) whose percentage is exactly the given one, so pixel
values with up to 12 decimals come back exactly as they were, except that a whole number
written as a float (``10.0``) comes back as an int (``10``); compare numbers by value. Box sizes are converted from the
exact difference of the corners, and the far corner is recovered the same way, so
``xmax``/``ymax`` come back exactly too.

Region ids keep TensorBay's identity: ``<control>:=<instance>`` for a label with an
``instance``, ``<control>:#<n>`` (its position among the item's labels of that type) for one
without; keypoints add ``:<k>``, the point's index. Attribute results carry their region's
``id`` (Label Studio's per-region rule). A region an annotator drew has a random id: it gets
no instance, and its keypoints form an object of their own.

==============  =================  ========================================================
TensorBay       result ``type``    value
==============  =================  ========================================================
CLASSIFICATION  choices            ``choices: [category]``; attributes as task-level results
BOX2D           rectanglelabels    ``x, y, width, height, rotation 0`` (a rotated box comes
                                   back as the box around it)
POLYGON         polygonlabels      ``points [[x, y]..], closed: true``
POLYLINE2D      vectorlabels       ``vertices [{id, x, y, prevPointId?, isBezier}]``,
                                   ``closed: false``; ``beizerPointTypes`` ``C`` <-> isBezier
                                   (kept when a point is ``C`` or the catalog sets
                                   ``isBeizerCurve``)
KEYPOINTS2D     keypointlabels     one region per point ``x, y``; ``v`` in ``keypoints2d.v``
SEMANTIC_MASK   brushlabels        one region per category id present: Label Studio's RLE of
                                   the pixels with that id (:mod:`.rle`); pixels no region
                                   covers are 0
==============  =================  ========================================================
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from labelsync.errors import LocalDataError
from labelsync.providers.labelstudio import png, rle
from labelsync.providers.labelstudio.config import (
    IMAGE,
    RESULT_TYPES,
    TAGS,
    VISIBILITY,
    AttributeControl,
    attribute_controls,
    check_catalog,
)

Number = int | float
_DECIMALS = 12


def to_percent(value: Number | Fraction, size: int) -> float:
    """``value * 100 / size``, correctly rounded."""
    return float(Fraction(value) * 100 / size)


def to_pixel(percent: float, size: int, base: Number = 0) -> Number:
    """The simplest number ``v`` with ``to_percent(v - base, size) == percent`` (see module doc)."""
    exact = Fraction(base) + Fraction(percent) * size / 100
    candidate = float(exact)
    for decimals in range(_DECIMALS + 1):
        rounded = round(candidate, decimals)
        if to_percent(Fraction(rounded) - Fraction(base), size) == percent:
            return int(rounded) if decimals == 0 else rounded
    for near in (candidate, math.nextafter(candidate, -math.inf), math.nextafter(candidate, math.inf)):
        if to_percent(Fraction(near) - Fraction(base), size) == percent:
            return near
    return candidate


def _attribute_results(
    controls: Mapping[str, AttributeControl], attributes: Mapping[str, Any], region_id: str, where: str
) -> list[dict[str, Any]]:
    out = []
    for name, value in attributes.items():
        control = controls.get(name)
        if control is None:
            raise LocalDataError(f"{where}: attribute {name!r} is not in the catalog")
        item: dict[str, Any] = {"id": region_id, "from_name": control.name, "to_name": IMAGE}
        if control.kind in ("single", "multiple"):
            texts = {json.dumps(v, sort_keys=True): t for t, v in control.values}
            chosen = value if control.kind == "multiple" else [value]
            if not isinstance(chosen, list) or any(json.dumps(v, sort_keys=True) not in texts for v in chosen):
                raise LocalDataError(f"{where}: attribute {name!r} value {value!r} is not one of its choices")
            item.update(type="choices", value={"choices": [texts[json.dumps(v, sort_keys=True)] for v in chosen]})
        elif control.kind == "number":
            item.update(type="number", value={"number": value})
        else:
            item.update(type="textarea", value={"text": [json.dumps(value, sort_keys=True)]})
        out.append(item)
    return out


_UNSET = object()


def _attribute_value(control: AttributeControl, item: Mapping[str, Any]) -> Any:
    """The attribute value an attribute result holds; ``_UNSET`` when it holds none."""
    value = item.get("value") or {}
    if control.kind in ("single", "multiple"):
        by_text = dict(control.values)
        chosen = [by_text[t] for t in value.get("choices") or [] if t in by_text]
        return chosen if control.kind == "multiple" else (chosen[0] if chosen else _UNSET)
    if control.kind == "number":
        number = value.get("number", _UNSET)
        if control.integer and isinstance(number, float) and number.is_integer():
            return int(number)
        return number
    texts = value.get("text") or []
    if not texts:
        return _UNSET
    try:
        return json.loads(texts[0])
    except ValueError:
        return texts[0]


def _region_id(control: str, label: Mapping[str, Any], index: int) -> str:
    instance = label.get("instance")
    return f"{control}:={instance}" if instance is not None else f"{control}:#{index}"


def _instance_of(control: str, region_id: str) -> tuple[str | None, str | None]:
    """``(instance, object key)`` from a region id; ``(None, None)`` for a foreign id."""
    prefix = control + ":"
    if not region_id.startswith(prefix):
        return None, None
    rest = region_id[len(prefix) :]
    if rest.startswith("="):
        return rest[1:], rest
    return (None, rest) if rest.startswith("#") else (None, None)


def _region(control: str, ctype: str, region_id: str, width: int, height: int, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": region_id,
        "from_name": control,
        "to_name": IMAGE,
        "type": RESULT_TYPES[ctype],
        "original_width": width,
        "original_height": height,
        "image_rotation": 0,
        "value": value,
    }


def to_results(
    label: Mapping[str, Any],
    catalog: Mapping[str, Any],
    width: int,
    height: int,
    *,
    mask: bytes | None = None,
    where: str = "label",
) -> list[dict[str, Any]]:
    """The result items of one image's TensorBay ``label`` (``mask``: the SEMANTIC_MASK PNG bytes)."""
    check_catalog(catalog)
    results: list[dict[str, Any]] = []
    for ctype, (_, control) in TAGS.items():
        if ctype not in label:
            continue
        if ctype not in catalog:
            raise LocalDataError(f"{where}: label type {ctype} is not in the catalog")
        sub = catalog[ctype] or {}
        controls = {c.attribute: c for c in attribute_controls(ctype, sub)}
        if ctype == "CLASSIFICATION":
            cls = label[ctype]
            if cls.get("category") is not None:
                results.append(
                    {"id": control, "from_name": control, "to_name": IMAGE, "type": "choices",
                     "value": {"choices": [cls["category"]]}}
                )
            for item in _attribute_results(controls, cls.get("attributes") or {}, control, where):
                item["id"] = item["from_name"]
                results.append(item)
            continue
        if ctype == "SEMANTIC_MASK":
            results.extend(_mask_results(label[ctype], sub, controls, width, height, mask, where))
            continue
        for index, obj in enumerate(label[ctype]):
            rid = _region_id(control, obj, index)
            labels = [obj["category"]] if obj.get("category") is not None else []
            key = RESULT_TYPES[ctype]
            if ctype == "KEYPOINTS2D":
                for k, point in enumerate(obj["keypoints2d"]):
                    pid = f"{rid}:{k}"
                    value = {"x": to_percent(point["x"], width), "y": to_percent(point["y"], height), key: labels}
                    results.append(_region(control, ctype, pid, width, height, value))
                    if "v" in point:
                        results.append(
                            {"id": pid, "from_name": f"{control}.{VISIBILITY}", "to_name": IMAGE, "type": "choices",
                             "value": {"choices": [str(point["v"])]}}
                        )
                    results.extend(_attribute_results(controls, obj.get("attributes") or {}, pid, where))
                continue
            if ctype == "BOX2D":
                box = obj["box2d"]
                value = {
                    "x": to_percent(box["xmin"], width),
                    "y": to_percent(box["ymin"], height),
                    "width": to_percent(Fraction(box["xmax"]) - Fraction(box["xmin"]), width),
                    "height": to_percent(Fraction(box["ymax"]) - Fraction(box["ymin"]), height),
                    "rotation": 0,
                }
            elif ctype == "POLYGON":
                points = [[to_percent(p["x"], width), to_percent(p["y"], height)] for p in obj["polygon"]]
                value = {"points": points, "closed": True}
            else:  # POLYLINE2D
                kinds = obj.get("beizerPointTypes") or ""
                vertices = []
                for k, p in enumerate(obj["polyline2d"]):
                    vertex: dict[str, Any] = {"id": f"{rid}:{k}", "x": to_percent(p["x"], width), "y": to_percent(p["y"], height)}
                    if k:
                        vertex["prevPointId"] = f"{rid}:{k - 1}"
                    vertex["isBezier"] = kinds[k:k + 1] == "C"
                    vertices.append(vertex)
                value = {"vertices": vertices, "closed": False}
            value[key] = labels
            results.append(_region(control, ctype, rid, width, height, value))
            results.extend(_attribute_results(controls, obj.get("attributes") or {}, rid, where))
    return results


def _mask_results(
    entry: Mapping[str, Any],
    sub: Mapping[str, Any],
    controls: Mapping[str, AttributeControl],
    width: int,
    height: int,
    mask: bytes | None,
    where: str,
) -> list[dict[str, Any]]:
    if mask is None:
        raise LocalDataError(f"{where}: the SEMANTIC_MASK file's bytes are needed")
    try:
        mask_width, mask_height, values = png.read_indices(mask)
    except png.PngError as exc:
        raise LocalDataError(f"{where}: SEMANTIC_MASK: {exc}") from exc
    if (mask_width, mask_height) != (width, height):
        raise LocalDataError(f"{where}: the mask is {mask_width}x{mask_height}, the image {width}x{height}")
    names = {int(c["categoryId"]): str(c["name"]) for c in sub.get("categories") or []}
    attributes = {int(i["categoryId"]): i.get("attributes") or {} for i in entry.get("info") or [] if "categoryId" in i}
    results: list[dict[str, Any]] = []
    for category_id in sorted(set(values)):
        if category_id not in names:
            if category_id == 0:
                continue  # unlabelled background
            raise LocalDataError(f"{where}: the mask has category id {category_id}, which the catalog does not declare")
        rid = f"semantic_mask:{category_id}"
        painted = [v == category_id for v in values]
        value = {"format": "rle", "rle": rle.encode_mask(painted, width, height), "brushlabels": [names[category_id]]}
        results.append(_region("semantic_mask", "SEMANTIC_MASK", rid, width, height, value))
        results.extend(_attribute_results(controls, attributes.get(category_id, {}), rid, where))
    return results


def _bounds(value: Mapping[str, Any], width: int, height: int) -> dict[str, Number]:
    xmin = to_pixel(value["x"], width)
    ymin = to_pixel(value["y"], height)
    rotation = float(value.get("rotation") or 0)
    if rotation % 360 == 0:
        return {
            "xmin": xmin, "ymin": ymin,
            "xmax": to_pixel(value["width"], width, xmin), "ymax": to_pixel(value["height"], height, ymin),
        }
    # Label Studio rotates the box (degrees, clockwise on screen) about its top-left corner.
    w, h = value["width"] * width / 100, value["height"] * height / 100
    cos, sin = math.cos(math.radians(rotation)), math.sin(math.radians(rotation))
    xs = [xmin + dx * cos - dy * sin for dx, dy in ((0, 0), (w, 0), (w, h), (0, h))]
    ys = [ymin + dx * sin + dy * cos for dx, dy in ((0, 0), (w, 0), (w, h), (0, h))]
    return {"xmin": min(xs), "ymin": min(ys), "xmax": max(xs), "ymax": max(ys)}


def from_results(
    results: Sequence[Mapping[str, Any]], catalog: Mapping[str, Any], *, where: str = "annotation"
) -> tuple[dict[str, Any], bytes | None]:
    """``(label, mask)``: the TensorBay label of a result list and the SEMANTIC_MASK PNG (or None).

    The label's SEMANTIC_MASK entry is ``{"info": [...]}`` when category attributes were set,
    ``{}`` otherwise; the caller stores the mask bytes and adds its path. Items of unknown
    controls are ignored.
    """
    by_control = {control: ctype for ctype, (_, control) in TAGS.items() if ctype in catalog}
    extras: dict[str, list[Mapping[str, Any]]] = {}
    for item in results:
        extras.setdefault(str(item.get("id")), []).append(item)
    label: dict[str, Any] = {}
    keypoints: dict[str, dict[str, Any]] = {}
    mask_values: list[int] | None = None
    mask_info: list[dict[str, Any]] = []
    mask_size = (0, 0)

    def attrs_of(ctype: str, region_id: str) -> dict[str, Any]:
        controls = {c.name: c for c in attribute_controls(ctype, catalog[ctype] or {})}
        found = {}
        for extra in extras.get(region_id, []):
            control = controls.get(str(extra.get("from_name")))
            if control is not None:
                value = _attribute_value(control, extra)
                if value is not _UNSET:
                    found[control.attribute] = value
        return found

    for item in results:
        control = str(item.get("from_name"))
        ctype = by_control.get(control)
        if ctype is None:
            continue
        value = item.get("value") or {}
        rid = str(item.get("id"))
        if ctype == "CLASSIFICATION":
            cls = label.setdefault("CLASSIFICATION", {})
            if value.get("choices"):
                cls["category"] = value["choices"][0]
            continue
        width, height = int(item["original_width"]), int(item["original_height"])
        names = value.get(RESULT_TYPES[ctype]) or []
        instance, key = _instance_of(control, rid.rsplit(":", 1)[0] if ctype == "KEYPOINTS2D" else rid)
        obj: dict[str, Any] = {}
        if ctype == "SEMANTIC_MASK":
            ids = {str(c["name"]): int(c["categoryId"]) for c in catalog[ctype].get("categories") or []}
            if not names or names[0] not in ids:
                raise LocalDataError(f"{where}: brush region {rid} has no category of the catalog")
            try:
                painted = rle.decode_mask(value["rle"], width, height)
            except (rle.RleError, KeyError) as exc:
                raise LocalDataError(f"{where}: brush region {rid}: {exc}") from exc
            if mask_values is None:
                mask_values = [0] * (width * height)
                mask_size = (width, height)
            elif mask_size != (width, height):
                raise LocalDataError(f"{where}: brush regions of different sizes")
            category_id = ids[names[0]]
            for i, flag in enumerate(painted):
                if flag:
                    mask_values[i] = category_id
            attributes = attrs_of(ctype, rid)
            if attributes:
                mask_info.append({"categoryId": category_id, "attributes": attributes})
            continue
        if names:
            obj["category"] = names[0]
        if ctype == "KEYPOINTS2D":
            point: dict[str, Any] = {"x": to_pixel(value["x"], width), "y": to_pixel(value["y"], height)}
            for extra in extras.get(rid, []):
                if extra.get("from_name") == f"{control}.{VISIBILITY}" and (extra.get("value") or {}).get("choices"):
                    point["v"] = int(extra["value"]["choices"][0])
            group = key if key is not None else rid
            if group not in keypoints:
                keypoints[group] = obj
                obj["keypoints2d"] = []
                if instance is not None:
                    obj["instance"] = instance
                attributes = attrs_of(ctype, rid)
                if attributes:
                    obj["attributes"] = attributes
                label.setdefault(ctype, []).append(obj)
            keypoints[group]["keypoints2d"].append(point)
            continue
        if ctype == "BOX2D":
            obj["box2d"] = _bounds(value, width, height)
        elif ctype == "POLYGON":
            obj["polygon"] = [{"x": to_pixel(x, width), "y": to_pixel(y, height)} for x, y in value.get("points") or []]
        else:  # POLYLINE2D
            vertices = value.get("vertices") or []
            obj["polyline2d"] = [{"x": to_pixel(v["x"], width), "y": to_pixel(v["y"], height)} for v in vertices]
            kinds = "".join("C" if v.get("isBezier") else "L" for v in vertices)
            if "C" in kinds or (catalog[ctype] or {}).get("isBeizerCurve"):
                obj["beizerPointTypes"] = kinds
        attributes = attrs_of(ctype, rid)
        if attributes:
            obj["attributes"] = attributes
        if instance is not None:
            obj["instance"] = instance
        label.setdefault(ctype, []).append(obj)
    if "CLASSIFICATION" in catalog:
        attributes = {}
        controls = {c.name: c for c in attribute_controls("CLASSIFICATION", catalog["CLASSIFICATION"] or {})}
        for item in results:
            task_control = controls.get(str(item.get("from_name")))
            if task_control is not None:
                value = _attribute_value(task_control, item)
                if value is not _UNSET:
                    attributes[task_control.attribute] = value
        if attributes:
            label.setdefault("CLASSIFICATION", {})["attributes"] = attributes
    mask = None
    if mask_values is not None:
        mask = png.write_indices(mask_size[0], mask_size[1], mask_values)
        label["SEMANTIC_MASK"] = {"info": mask_info} if mask_info else {}
    return label, mask

