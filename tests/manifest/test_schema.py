"""The published JSON Schema and the models agree: generated-and-compared, and same verdicts."""

from __future__ import annotations

import json

import jsonschema
import pytest
from pydantic import ValidationError

from labelsync.manifest.load import read_documents
from labelsync.manifest.model import Manifest
from labelsync.manifest.schema import manifest_schema, schema_diagnostics, schema_text

from .conftest import CORPUS, REPO

SCHEMA_FILE = REPO / "schemas" / "labelsync-v1.schema.json"


def test_committed_schema_equals_the_generated_one() -> None:
    committed = SCHEMA_FILE.read_text(encoding="utf-8")
    assert committed == schema_text(), (
        "schemas/labelsync-v1.schema.json is stale: run "
        "`python -m labelsync.manifest.schema > schemas/labelsync-v1.schema.json`"
    )


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def _documents() -> list[tuple[str, object]]:
    files = sorted((REPO / "examples").rglob("*.yaml")) + sorted(CORPUS.rglob("*.yaml"))
    out = []
    for f in files:
        if f.name == "labelsync.yaml" or "github-workflows" in f.parts:
            continue
        docs, diags = read_documents(f)
        for doc in docs:
            if isinstance(doc.data, dict) and doc.data.get("apiVersion") == "labelsync/v1":
                out.append((f"{f.relative_to(REPO)}#{doc.index}", doc))
    return out


DOCS = _documents()


@pytest.mark.parametrize("name,doc", DOCS, ids=[n for n, _ in DOCS])
def test_schema_and_models_give_the_same_verdict(name: str, doc) -> None:  # type: ignore[no-untyped-def]
    schema_ok = not schema_diagnostics(doc)
    try:
        Manifest.model_validate(doc.data)
        model_ok = True
    except ValidationError:
        model_ok = False
    assert schema_ok == model_ok, name


@pytest.mark.parametrize(
    "fragment,ok",
    [
        ({"spec": {"prune": True}}, True),
        ({"spec": {"prune": "true"}}, False),
        ({"spec": {"deepen": {"fps": 0}}}, False),
        ({"spec": {"deepen": {"fps": 2.5}}}, True),
        ({"spec": {"segments": [{"name": ""}]}}, False),
        ({"spec": {"segments": [{"name": "a b"}]}}, False),
        ({"spec": {"catalog": {"BOX2D": {"isBeizerCurve": True}}}}, False),
        ({"spec": {"catalog": {"POLYLINE2D": {"isBeizerCurve": True}}}}, True),
        ({"spec": {"catalog": {"SENTENCE": {"categories": []}}}}, False),
        ({"spec": {"catalog": {"CLASSIFICATION": {"isTracking": True}}}}, False),
        ({"spec": {"catalog": {"INSTANCE_MASK": {"isTracking": True}}}}, True),
        ({"spec": {"catalog": {"BOX2D": {"attributes": [{"name": "a", "type": ["string", "null"]}]}}}}, True),
        ({"spec": {"catalog": {"BOX2D": {"attributes": [{"name": "a", "type": "str"}]}}}}, False),
        ({"spec": {"catalog": {"KEYPOINTS2D": {"keypoints": [{"number": 2, "skeleton": [[0, 1, 2]]}]}}}}, False),
        ({"spec": {"segments": [{"name": "s", "sensors": [{"name": "c", "type": "CAMERA", "intrinsics": {
            "cameraMatrix": {"fx": 1, "fy": 1, "cx": 0, "cy": 0}, "distortionCoefficients": {"q1": 1}}}]}]}}, False),
        ({"spec": {"segments": [{"name": "s", "sensors": [{"name": "c", "type": "CAMERA", "intrinsics": {
            "cameraMatrix": {"fx": 1, "fy": 1, "cx": 0, "cy": 0}, "distortionCoefficients": {"k1": 1}}}]}]}}, True),
        ({"spec": {"segments": [{"name": "s", "frames": {"layout": "flat"}}]}}, False),
        ({"spec": {"deepen": {"datasetType": "pointcloud"}}}, False),
        ({"spec": {"datasetType": "images"}}, False),
        ({"spec": {"deepen": {"labellingMode": "label_by_label", "pipeline": [{"stage": "QA", "canEdit": False}]}}}, True),
    ],
)
def test_fragments_same_verdict_both_validators(fragment: dict, ok: bool) -> None:
    data = {"apiVersion": "labelsync/v1", "kind": "Dataset", "metadata": {"name": "x"}, **fragment}
    schema_ok = not list(jsonschema.Draft202012Validator(manifest_schema()).iter_errors(data))
    try:
        Manifest.model_validate(data)
        model_ok = True
    except ValidationError:
        model_ok = False
    assert (schema_ok, model_ok) == (ok, ok)
