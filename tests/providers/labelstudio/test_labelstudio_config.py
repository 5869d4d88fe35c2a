"""Catalog -> Label Studio label_config XML: one tag per type, attributes, refusals, determinism."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labelsync.errors import ManifestError
from labelsync.providers.labelstudio.config import check_dataset_type, label_config

CATALOG = json.loads((Path(__file__).parent / "catalog.json").read_text())


def _tags(xml: str) -> dict[str, ET.Element]:
    return {e.get("name"): e for e in ET.fromstring(xml).iter() if e.get("name")}


def test_each_type_maps_to_its_tag() -> None:
    tags = _tags(label_config(CATALOG))
    assert {name: e.tag for name, e in tags.items() if "." not in name} == {
        "image": "Image",
        "classification": "Choices",
        "box2d": "RectangleLabels",
        "polygon": "PolygonLabels",
        "polyline2d": "VectorLabels",
        "keypoints2d": "KeyPointLabels",
        "semantic_mask": "BrushLabels",
    }
    assert tags["polyline2d"].get("closable") == "false"
    assert tags["classification"].get("choice") == "single"
    assert [c.get("value") for c in tags["semantic_mask"]] == ["bg", "road", "car"]
    assert [c.get("value") for c in tags["classification"]] == ["day", "night"]
    assert tags["classification"][1].get("hint") == "dark"


def test_attributes_become_per_region_controls() -> None:
    root = ET.fromstring(label_config(CATALOG))
    view = next(v for v in root.iter("View") if v.get("whenTagName") == "box2d")
    assert view.get("visibleWhen") == "region-selected"
    controls = {e.get("name"): e for e in view}
    assert all(e.get("perRegion") == "true" and e.get("toName") == "image" for e in controls.values())
    assert [c.get("value") for c in controls["box2d.occluded"]] == ["true", "false"]
    assert (controls["box2d.num"].tag, controls["box2d.num"].get("min"), controls["box2d.num"].get("max")) == ("Number", "0", "10.5")
    assert controls["box2d.count"].get("step") == "1"
    assert controls["box2d.lst"].get("choice") == "multiple"
    assert controls["box2d.multi"].tag == "TextArea"
    tags = _tags(label_config(CATALOG))
    assert tags["classification.color"].get("perRegion") is None  # task-level
    assert [c.get("value") for c in tags["keypoints2d.v"]] == ["0", "1", "2"]


def test_output_is_deterministic_and_independent_of_key_order() -> None:
    reordered = dict(reversed(list(CATALOG.items())))
    assert label_config(CATALOG) == label_config(json.loads(json.dumps(CATALOG))) == label_config(reordered)


@pytest.mark.parametrize("ctype", ["BOX3D", "INSTANCE_MASK", "SENTENCE", "MULTI_POLYGON", "RLE"])
def test_types_without_a_tag_are_refused_naming_the_provider(ctype: str) -> None:
    with pytest.raises(ManifestError, match=rf"label type {ctype} cannot be held by Label Studio \(provider labelstudio\)"):
        label_config({ctype: {"categories": [{"name": "x"}]}})


def test_fusion_is_refused_naming_the_provider() -> None:
    with pytest.raises(ManifestError, match=r"fusion dataset cannot be held by Label Studio \(provider labelstudio\)"):
        check_dataset_type("fusion")
    check_dataset_type("normal")


def test_region_type_without_categories_is_refused() -> None:
    with pytest.raises(ManifestError, match="BOX2D without categories"):
        label_config({"BOX2D": {}})
    assert "classification.x" in label_config({"CLASSIFICATION": {"attributes": [{"name": "x", "type": "boolean"}]}})


def test_clashing_control_names_are_refused() -> None:
    catalog = {"KEYPOINTS2D": {"categories": [{"name": "p"}], "attributes": [{"name": "v"}],
                               "keypoints": [{"number": 1, "visible": "BINARY"}]}}
    with pytest.raises(ManifestError, match="'keypoints2d.v'"):
        label_config(catalog)


@pytest.mark.labelstudio
def test_the_server_accepts_the_config(ls_client) -> None:
    assert ls_client.validate_config(label_config(CATALOG)) == []
