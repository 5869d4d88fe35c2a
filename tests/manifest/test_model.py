"""The models dump to exactly the TensorBay JSON of api/tensorbay.md §4.1 and §5.1."""

from __future__ import annotations

import json

import pytest

from labelsync.manifest import catalog_json, sensor_json
from labelsync.manifest.model import Catalog, Manifest, Sensor
from labelsync.providers.deepen.convert import profile_for
from labelsync.providers.deepen.features import DEEPEN_FEATURES
from labelsync.state import canonical_json

SDK_CATALOG = {
    "CLASSIFICATION": {
        "description": "cls", "categoryDelimiter": ".",
        "categories": [{"name": "cat.a", "description": "d"}],
        "attributes": [{"enum": ["red", "blue"], "name": "color", "description": "x"}],
    },
    "BOX2D": {
        "isTracking": True, "categories": [{"name": "car"}],
        "attributes": [
            {"type": "boolean", "name": "occluded"},
            {"type": "number", "minimum": 0, "maximum": 10, "name": "num", "parentCategories": ["car"]},
            {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 3}, "name": "lst"},
            {"type": ["string", "null"], "name": "multi"},
        ],
    },
    "BOX3D": {"categories": [{"name": "car"}]},
    "POLYGON": {}, "MULTI_POLYGON": {}, "RLE": {}, "MULTI_POLYLINE2D": {},
    "POLYLINE2D": {"isBeizerCurve": True},
    "KEYPOINTS2D": {
        "categories": [{"name": "person"}],
        "keypoints": [{"number": 2, "names": ["a", "b"], "skeleton": [[0, 1]], "visible": "TERNARY",
                       "parentCategories": ["person"], "description": "kp"}],
    },
    "SENTENCE": {"attributes": [{"enum": ["male", "female"], "name": "gender"}],
                 "isSample": True, "sampleRate": 16000, "lexicon": [["hello", "h", "e"]]},
    "SEMANTIC_MASK": {"categories": [{"name": "bg", "categoryId": 0}]},
    "INSTANCE_MASK": {"categories": [{"name": "bg", "categoryId": 0}], "isTracking": True},
    "PANOPTIC_MASK": {"categories": [{"name": "cat", "categoryId": 1}]},
}

SDK_SENSORS = [
    {"name": "LIDAR1", "description": "l", "type": "LIDAR", "extrinsics": {"translation": {"x": 1, "y": 2, "z": 3}, "rotation": {"w": 1.0, "x": 0.0, "y": 0.0, "z": 0.0}}},
    {"name": "RADAR1", "type": "RADAR", "extrinsics": {"translation": {"x": 1, "y": 2, "z": 3}, "rotation": {"w": 0.5, "x": 0.5, "y": 0.5, "z": 0.5}}},
    {"name": "CAM1", "type": "CAMERA", "intrinsics": {"cameraMatrix": {"fx": 1, "fy": 2, "cx": 3, "cy": 4, "skew": 0.5}, "distortionCoefficients": {"p1": 1, "p2": 2, "k1": 3, "k2": 4}}},
    {"name": "FISH1", "type": "FISHEYE_CAMERA", "intrinsics": {"cameraMatrix": {"fx": 1, "fy": 2, "cx": 3, "cy": 4}, "distortionCoefficients": {"k1": 1, "k2": 2, "k3": 3, "k4": 4}}},
    {"name": "CAM2", "type": "CAMERA"},
]


def test_sdk_catalog_round_trips_exactly() -> None:
    out = catalog_json(Catalog.model_validate(SDK_CATALOG))
    assert out == SDK_CATALOG
    assert canonical_json(out) == canonical_json(SDK_CATALOG)  # ints stay ints, floats stay floats


@pytest.mark.parametrize(
    "given,dumped",
    [
        ({}, {}),
        ({"BOX2D": {"isTracking": False, "description": ""}}, {"BOX2D": {}}),
        ({"KEYPOINTS2D": {}}, {"KEYPOINTS2D": {"keypoints": []}}),
        ({"POLYLINE2D": {"isBeizerCurve": False}}, {"POLYLINE2D": {}}),
        ({"SENTENCE": {"isSample": False}}, {"SENTENCE": {}}),
        ({"BOX2D": {"attributes": [{"name": "n", "minimum": 1.5}]}}, {"BOX2D": {"attributes": [{"name": "n", "minimum": 1.5}]}}),
    ],
)
def test_catalog_defaults_are_left_out(given: dict, dumped: dict) -> None:
    assert catalog_json(Catalog.model_validate(given)) == dumped


def test_no_catalog_is_empty_json() -> None:
    m = Manifest.model_validate({"apiVersion": "labelsync/v1", "kind": "Dataset", "metadata": {"name": "x"}})
    assert catalog_json(m) == {}
    assert catalog_json(None) == {}


@pytest.mark.parametrize("sensor", SDK_SENSORS, ids=[s["name"] for s in SDK_SENSORS])
def test_sdk_sensor_round_trips_exactly(sensor: dict) -> None:
    out = sensor_json(Sensor.model_validate(sensor))
    assert json.dumps(out, sort_keys=True) == json.dumps(sensor, sort_keys=True)


def test_models_are_frozen() -> None:
    s = Sensor.model_validate({"name": "c", "type": "CAMERA"})
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError for frozen models
        s.name = "d"  # type: ignore[misc]


def test_every_tensorbay_type_has_a_deepen_mapping() -> None:
    assert set(DEEPEN_FEATURES) == set(SDK_CATALOG)
    assert {k: v.feature for k, v in DEEPEN_FEATURES.items() if v.feature} == {
        "BOX2D": "box", "POLYGON": "polygon", "POLYLINE2D": "lane", "KEYPOINTS2D": "point",
        "CLASSIFICATION": "scene", "BOX3D": "3d_bbox",
    }


def test_labelling_profile_of_a_deepen_spec() -> None:
    m = Manifest.model_validate({
        "apiVersion": "labelsync/v1", "kind": "Dataset", "metadata": {"name": "x"},
        "spec": {"remote": "deepen", "deepen": {"datasetType": "images", "instructions": "go"},
                 "catalog": {"BOX2D": {"categories": [{"name": "sign"}],
                                       "attributes": [{"name": "state", "enum": ["a", "b"]}]}}},
    })
    assert profile_for(catalog_json(m), m.spec.block("deepen").settings_json()) == {
        "pipeline_spec": [
            {"stage_id": "Labelling", "can_edit": True, "skills": {"box": {}}},
            {"stage_id": "QA", "can_edit": False, "skills": {"box": {}}},
        ],
        "features": {"box": {"attributes": {"state": {"enum": ["a", "b"]}}, "label_category_ids": ["sign"]}},
        "instructions": {"text": "go"},
        "notification_url": "",
    }
