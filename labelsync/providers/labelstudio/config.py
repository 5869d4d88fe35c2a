"""A TensorBay catalog -> a Label Studio ``label_config`` XML (``api/labelstudio.md`` §3).

One ``<Image name="image" value="$image"/>`` and one control tag per label type, in the fixed
order of :data:`TAGS` (not the catalog's key order), categories in catalog order:

==============  ====================================  ======================
catalog type    Label Studio tag                      control name
==============  ====================================  ======================
CLASSIFICATION  ``Choices choice="single"``           ``classification``
BOX2D           ``RectangleLabels``                   ``box2d``
POLYGON         ``PolygonLabels``                     ``polygon``
POLYLINE2D      ``VectorLabels closable="false"``     ``polyline2d``
KEYPOINTS2D     ``KeyPointLabels``                    ``keypoints2d``
SEMANTIC_MASK   ``BrushLabels``                       ``semantic_mask``
==============  ====================================  ======================

Attributes become controls named ``<control>.<attribute>`` (:func:`attribute_controls`): for
region types they are per-region (``perRegion="true"``) inside
``<View visibleWhen="region-selected" whenTagName="<control>">``; CLASSIFICATION attributes are
task-level controls. An attribute is held as:

* ``Choices choice="single"``: ``boolean`` (values ``true``/``false``) or an ``enum``;
* ``Choices choice="multiple"``: an ``array`` whose ``items`` have an ``enum``;
* ``Number``: ``integer``/``number`` (``min``/``max`` from ``minimum``/``maximum``, ``step="1"``
  for integers);
* ``TextArea`` holding the value's JSON text: anything else (strings, type lists, arrays
  without enum). ``parentCategories`` is not expressed in the XML; labelsync's own label check
  enforces it before anything is sent.

KEYPOINTS2D whose ``keypoints`` define ``visible`` get a per-region ``keypoints2d.v`` Choices
(``0``/``1``/``2``, or ``0``/``1`` for BINARY) for each point's visibility.

Enum values are shown as their JSON text (``"red"`` is ``red``, ``3`` is ``3``). The output is
a pure function of the catalog: same catalog, same bytes. A region type needs categories (a
region carries a label); a CLASSIFICATION with attributes only has no ``classification``
control. A type Label Studio cannot hold
(BOX3D, the multi-shapes, RLE, SENTENCE, instance and panoptic masks) is a
:class:`~labelsync.errors.ManifestError` naming the provider, as is a fusion dataset
(:func:`check_dataset_type`).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labelsync.errors import ManifestError

PROVIDER = "labelstudio"
IMAGE = "image"
TAGS: dict[str, tuple[str, str]] = {
    "CLASSIFICATION": ("Choices", "classification"),
    "BOX2D": ("RectangleLabels", "box2d"),
    "POLYGON": ("PolygonLabels", "polygon"),
    "POLYLINE2D": ("VectorLabels", "polyline2d"),
    "KEYPOINTS2D": ("KeyPointLabels", "keypoints2d"),
    "SEMANTIC_MASK": ("BrushLabels", "semantic_mask"),
}
"""catalog type -> (Label Studio tag, control name), in output order."""
RESULT_TYPES = {ctype: tag.lower() for ctype, (tag, _) in TAGS.items()}
"""catalog type -> the ``type`` of its result items (``rectanglelabels``, ...)."""
VISIBILITY = "v"


def refuse(what: str, why: str) -> ManifestError:
    return ManifestError(
        f"{what} cannot be held by Label Studio (provider {PROVIDER}): {why}",
        hint="use a tensorbay or deepen remote for this dataset, or remove it from the catalog",
    )


def check_dataset_type(dataset_type: str) -> None:
    """Refuse a fusion dataset (Label Studio has no multi-sensor frames)."""
    if dataset_type == "fusion":
        raise refuse("a fusion dataset", "Label Studio has no multi-sensor frames or 3D point clouds")


@dataclass(frozen=True)
class AttributeControl:
    """How one catalog attribute is held: ``kind`` is ``single``, ``multiple``, ``number`` or
    ``json``; ``values`` maps each choice's text to its JSON value (choice kinds only)."""

    name: str
    attribute: str
    kind: str
    values: tuple[tuple[str, Any], ...] = ()
    integer: bool = False
    minimum: float | None = None
    maximum: float | None = None


def choice_text(value: Any) -> str:
    """The text of a choice for an enum value: strings as they are, others as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _control_for(control: str, attr: Mapping[str, Any]) -> AttributeControl:
    name = str(attr["name"])
    full = f"{control}.{name}"
    types = attr.get("type")
    enum = attr.get("enum")
    items = attr.get("items") or {}
    if enum:
        return AttributeControl(full, name, "single", tuple((choice_text(v), v) for v in enum))
    if types == "boolean":
        return AttributeControl(full, name, "single", (("true", True), ("false", False)))
    if types == "array" and items.get("enum"):
        return AttributeControl(full, name, "multiple", tuple((choice_text(v), v) for v in items["enum"]))
    if types in ("integer", "number"):
        return AttributeControl(
            full, name, "number", integer=types == "integer", minimum=attr.get("minimum"), maximum=attr.get("maximum")
        )
    return AttributeControl(full, name, "json")


def attribute_controls(catalog_type: str, subcatalog: Mapping[str, Any]) -> list[AttributeControl]:
    """The attribute controls of one label type, in catalog order."""
    control = TAGS[catalog_type][1]
    return [_control_for(control, attr) for attr in subcatalog.get("attributes") or []]


def visibility_values(subcatalog: Mapping[str, Any]) -> tuple[str, ...]:
    """The ``keypoints2d.v`` choices of a KEYPOINTS2D subcatalog; empty when no visibility is defined."""
    kinds = {kp.get("visible") for kp in subcatalog.get("keypoints") or [] if kp.get("visible")}
    if not kinds:
        return ()
    return ("0", "1", "2") if "TERNARY" in kinds else ("0", "1")


def check_catalog(catalog: Mapping[str, Any]) -> None:
    """Refuse label types Label Studio cannot hold (see the module docstring)."""
    for ctype, sub in catalog.items():
        if ctype not in TAGS:
            raise refuse(f"label type {ctype}", f"it has no tag for it; supported: {', '.join(TAGS)}")
        if ctype != "CLASSIFICATION" and not (sub or {}).get("categories"):
            raise refuse(f"{ctype} without categories", "every region needs a label; declare at least one category")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _attribute_element(parent: ET.Element, control: AttributeControl, *, per_region: bool) -> None:
    common = {"name": control.name, "toName": IMAGE}
    if per_region:
        common["perRegion"] = "true"
    if control.kind in ("single", "multiple"):
        element = ET.SubElement(parent, "Choices", {**common, "choice": control.kind, "showInline": "true"})
        for text, _ in control.values:
            ET.SubElement(element, "Choice", {"value": text})
    elif control.kind == "number":
        attrs = dict(common)
        if control.minimum is not None:
            attrs["min"] = _number(control.minimum)
        if control.maximum is not None:
            attrs["max"] = _number(control.maximum)
        if control.integer:
            attrs["step"] = "1"
        ET.SubElement(parent, "Number", attrs)
    else:
        ET.SubElement(parent, "TextArea", {**common, "maxSubmissions": "1", "placeholder": f"{control.attribute} (JSON)"})


def label_config(catalog: Mapping[str, Any]) -> str:
    """The ``label_config`` XML of ``catalog`` (deterministic; see the module docstring)."""
    check_catalog(catalog)
    root = ET.Element("View")
    ET.SubElement(root, "Image", {"name": IMAGE, "value": "$" + IMAGE})
    for ctype, (tag, control) in TAGS.items():
        if ctype not in catalog:
            continue
        sub = catalog[ctype] or {}
        attrs = {"name": control, "toName": IMAGE}
        if ctype == "CLASSIFICATION":
            attrs.update(choice="single", showInline="true")
        if ctype == "POLYLINE2D":
            attrs["closable"] = "false"
        child = "Choice" if ctype == "CLASSIFICATION" else "Label"
        if sub.get("categories"):  # a CLASSIFICATION may have attributes only
            element = ET.SubElement(root, tag, attrs)
            for category in sub["categories"]:
                item = {"value": str(category["name"])}
                if category.get("description"):
                    item["hint"] = str(category["description"])
                ET.SubElement(element, child, item)
        controls = attribute_controls(ctype, sub)
        visible = visibility_values(sub) if ctype == "KEYPOINTS2D" else ()
        if ctype == "CLASSIFICATION":
            for attribute in controls:
                _attribute_element(root, attribute, per_region=False)
        elif controls or visible:
            view = ET.SubElement(root, "View", {"visibleWhen": "region-selected", "whenTagName": control})
            for attribute in controls:
                _attribute_element(view, attribute, per_region=True)
            if visible:
                _attribute_element(
                    view,
                    AttributeControl(f"{control}.{VISIBILITY}", VISIBILITY, "single", tuple((v, int(v)) for v in visible)),
                    per_region=True,
                )
    names = [name for e in root.iter() if (name := e.get("name"))]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise refuse(f"control {doubled[0]!r}", "two attributes map to the same control name; rename one")
    return ET.tostring(root, encoding="unicode")
