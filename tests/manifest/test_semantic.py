"""Semantic checks as a table: a spec fragment, the remotes, the messages it must produce."""

from __future__ import annotations

from typing import Any

import pytest

from labelsync.manifest.load import Document
from labelsync.manifest.model import Manifest
from labelsync.manifest.remotes import BUILTIN_REMOTES
from labelsync.manifest.semantic import Located, check_manifest, check_set


def _check(spec: dict[str, Any]) -> list[str]:
    data = {"apiVersion": "labelsync/v1", "kind": "Dataset", "metadata": {"name": "x"}, "spec": spec}
    doc = Document("m.yaml", 0, data)
    return [f"{d.path}: {d.message}" for d in check_manifest(doc, Manifest.model_validate(data), BUILTIN_REMOTES)]


CAM = {"cameraMatrix": {"fx": 1, "fy": 1, "cx": 0, "cy": 0}}


@pytest.mark.parametrize(
    "spec,messages",
    [
        ({}, []),
        ({"remote": "deepen"}, ["spec: deepen datasets need 'spec.deepen.datasetType' (images, video or 3d)"]),
        ({"remote": "deepen", "deepen": {"datasetType": "images", "fps": 5}}, ["spec.deepen.fps: 'fps' applies only to datasetType: video"]),
        ({"remote": "deepen", "deepen": {"datasetType": "video", "fps": 5}}, []),
        ({"remote": "deepen", "deepen": {"datasetType": "images", "datasetFormat": "json"}},
         ["spec.deepen.datasetFormat: 'datasetFormat' applies only to datasetType: 3d"]),
        ({"remote": "deepen", "deepen": {"datasetType": "images"}, "catalog": {"BOX3D": {}}},
         ["spec.catalog.BOX3D: label type BOX3D (deepen 3d_bbox) needs datasetType 3d"]),
        ({"remote": "deepen", "deepen": {"datasetType": "3d"}, "catalog": {"BOX3D": {}}}, []),
        ({"remote": "deepen", "deepen": {"datasetType": "images"}, "catalog": {"KEYPOINTS2D": {"keypoints": [{"number": 2}]}}},
         ["spec.catalog.KEYPOINTS2D.keypoints[0].number: deepen 'point' labels are single points: number must be 1"]),
        ({"remote": "deepen", "deepen": {"datasetType": "images"}, "catalog": {"POLYLINE2D": {"isBeizerCurve": True}}},
         ["spec.catalog.POLYLINE2D.isBeizerCurve: deepen 'lane' labels have no Bézier curves"]),
        ({"remote": "deepen", "deepen": {"datasetType": "images", "pipeline": [{"stage": "QA"}, {"stage": "QA"}]}},
         ["spec.deepen.pipeline[1].stage: duplicate pipeline stage 'QA'"]),
        ({"remote": "deepen", "deepen": {"datasetType": "images"}, "segments": [{"name": "a"}, {"name": "b"}]},
         ["spec.segments[1]: a deepen dataset holds one segment (all its data is uploaded as one zip)"]),
        ({"remote": "deepen", "deepen": {"datasetType": "3d"}, "segments": [{"name": "a", "sensors": [{"name": "lidar", "type": "LIDAR"}]}]}, []),
        ({"allowReplace": True}, ["spec.allowReplace: allowReplace has no effect: TensorBay changes datasets in place"]),
        ({"deepen": {"datasetType": "images"}}, ["spec.deepen: 'deepen' settings apply to deepen remotes; remote 'default' is a tensorbay remote"]),
        ({"tensorbay": {"type": "fusion"}, "segments": [{"name": "a", "data": {"path": "d"}}]}, ["spec.segments[0]: a fusion segment with data needs sensors"]),
        ({"tensorbay": {"type": "fusion"}, "segments": [{"name": "a", "sensors": [{"name": "r", "type": "RADAR", "intrinsics": CAM}]}]},
         ["spec.segments[0].sensors[0].intrinsics: a RADAR sensor has no intrinsics"]),
        ({"tensorbay": {"type": "fusion"}, "segments": [{"name": "a", "sensors": [{"name": "c", "type": "FISHEYE_CAMERA", "intrinsics": {**CAM, "distortionCoefficients": {"k1": 1, "k3": 1}}}]}]},
         ["spec.segments[0].sensors[0].intrinsics.distortionCoefficients: k coefficients must be numbered consecutively from k1 (got k1, k3)"]),
        ({"segments": [{"name": "a", "frames": {}}]}, ["spec.segments[0].frames: frames belong to fusion datasets"]),
        ({"segments": [{"name": "a", "labels": {"path": "l.jsonl"}}]}, ["spec.segments[0].labels: labels need a data directory"]),
        ({"segments": [{"name": "a", "data": {"path": "C:\\data"}}]}, ["spec.segments[0].data.path: path 'C:\\\\data' is absolute"]),
        ({"segments": [{"name": "a", "data": {"path": "a\\b"}}]}, ["spec.segments[0].data.path: path 'a\\\\b' uses backslashes"]),
        ({"catalog": {"BOX2D": {"attributes": [{"name": "n", "type": "integer", "minimum": 5, "maximum": 1}]}}},
         ["spec.catalog.BOX2D.attributes[0].minimum: minimum 5 is greater than maximum 1"]),
        ({"catalog": {"BOX2D": {"attributes": [{"name": "n", "type": "string", "items": {"type": "string"}}]}}},
         ["spec.catalog.BOX2D.attributes[0].items: 'items' needs type: array"]),
        ({"catalog": {"KEYPOINTS2D": {"keypoints": [{"number": 2, "names": ["a"], "skeleton": [[0, 2]]}]}}},
         ["spec.catalog.KEYPOINTS2D.keypoints[0].names: 1 names for 2 keypoints",
          "spec.catalog.KEYPOINTS2D.keypoints[0].skeleton[0]: skeleton pair [0, 2] names a keypoint beyond 1"]),
        ({"catalog": {"SENTENCE": {"isSample": True}}}, ["spec.catalog.SENTENCE: isSample: true needs sampleRate"]),
        ({"catalog": {"PANOPTIC_MASK": {"categories": [{"name": "a", "categoryId": 1}, {"name": "b", "categoryId": 1}]}}},
         ["spec.catalog.PANOPTIC_MASK.categories[1].categoryId: duplicate categoryId 1 in PANOPTIC_MASK"]),
    ],
)
def test_semantic_checks(spec: dict[str, Any], messages: list[str]) -> None:
    assert _check(spec) == messages


def test_same_name_on_different_remotes_is_fine() -> None:
    def located(remote: str) -> Located:
        data = {"apiVersion": "labelsync/v1", "kind": "Dataset", "metadata": {"name": "x"},
                "spec": {"remote": remote, **({"deepen": {"datasetType": "images"}} if remote == "deepen" else {})}}
        return Located(Document("m.yaml", 0, data), Manifest.model_validate(data))

    assert check_set([located("default"), located("deepen")], BUILTIN_REMOTES) == []
    assert [d.message for d in check_set([located("default"), located("default")], BUILTIN_REMOTES)] == [
        "dataset 'x' is already declared for remote 'default' at m.yaml:1"
    ]
