"""Validation of request bodies: labelling profiles, dataset creation, label imports.

Each function takes decoded JSON and returns the normalised value to store, or raises
:class:`~.errors.ApiError` (400) with a message naming the offending field.
"""

from __future__ import annotations

import copy
from typing import Any

from .errors import bad_request

DATASET_TYPES = ("images", "video", "3d")
DATASET_FORMATS_3D = ("json", "default")
LABELLING_MODES = ("frame_by_frame", "label_by_label")
DEFAULT_PIPELINE = [{"stage_id": "Labelling", "can_edit": True}, {"stage_id": "QA", "can_edit": False}]
FILE_EXTENSIONS = {"application/zip": ".zip", "application/x-zip-compressed": ".zip", "video/mp4": ".mp4"}


def require_object(body: Any, what: str = "request body") -> dict[str, Any]:
    """``body`` itself, when it is a JSON object."""
    if not isinstance(body, dict):
        raise bad_request(f"The {what} must be a JSON object.")
    return body


def normalize_profile(body: Any) -> dict[str, Any]:
    """A LabellingProfileResource body with defaults filled in; unknown keys are kept.

    Defaults [INFERRED]: ``features`` {}, ``pipeline_spec`` Labelling (editable) then QA,
    ``instructions`` ``{"text": ""}``, ``notification_url`` "", ``preferences`` {}.
    """
    profile = copy.deepcopy(require_object(body, "labelling profile"))
    features = profile.setdefault("features", {})
    if not isinstance(features, dict):
        raise bad_request("features must be an object keyed by label type.")
    for label_type, feature in features.items():
        if not isinstance(feature, dict):
            raise bad_request(f"features.{label_type} must be an object.")
        categories = feature.setdefault("label_category_ids", [])
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            raise bad_request(f"features.{label_type}.label_category_ids must be a list of strings.")
        if not isinstance(feature.setdefault("attributes", {}), dict):
            raise bad_request(f"features.{label_type}.attributes must be an object.")
    stages = profile.get("pipeline_spec") or copy.deepcopy(DEFAULT_PIPELINE)
    if not isinstance(stages, list):
        raise bad_request("pipeline_spec must be a list of stages.")
    seen: set[str] = set()
    for index, stage in enumerate(stages):
        if not isinstance(stage, dict) or not isinstance(stage.get("stage_id"), str) or not stage["stage_id"]:
            raise bad_request(f"pipeline_spec[{index}] must be an object with a stage_id.")
        if stage["stage_id"] in seen:
            raise bad_request(f"pipeline_spec: duplicate stage_id {stage['stage_id']!r}.")
        seen.add(stage["stage_id"])
        stage.setdefault("can_edit", index == 0)
    profile["pipeline_spec"] = stages
    profile.setdefault("instructions", {"text": ""})
    profile.setdefault("notification_url", "")
    profile.setdefault("preferences", {})
    return profile


def parse_create_dataset(body: Any) -> dict[str, Any]:
    """The stored fields of a dataset from a create body (the profile is handled apart).

    ``dataset_format`` defaults to ``default`` for 3d [INFERRED from the quickstart] and
    is ``null`` for images and video; ``labelling_mode`` defaults to ``frame_by_frame``.
    ``file_size`` may be a float with an integral value (the doc example has ``18611529.0``).
    """
    body = require_object(body)
    name = body.get("dataset_name")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("dataset_name is required.")
    dataset_type = body.get("dataset_type")
    if dataset_type not in DATASET_TYPES:
        raise bad_request(f"dataset_type must be one of {', '.join(DATASET_TYPES)}.")
    dataset_format = body.get("dataset_format")
    if dataset_type == "3d":
        dataset_format = dataset_format or "default"
        if dataset_format not in DATASET_FORMATS_3D:
            raise bad_request(
                f"dataset_format must be one of {', '.join(DATASET_FORMATS_3D)} for 3d datasets."
            )
    mode = body.get("labelling_mode") or "frame_by_frame"
    if mode not in LABELLING_MODES:
        raise bad_request(f"labelling_mode must be one of {', '.join(LABELLING_MODES)}.")
    files = body.get("files")
    if not isinstance(files, list) or not files:
        raise bad_request("files must be a non-empty list of {file_size, file_type}.")
    parsed_files = []
    for index, entry in enumerate(files):
        size = entry.get("file_size") if isinstance(entry, dict) else None
        if isinstance(size, float) and size.is_integer():
            size = int(size)
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise bad_request(f"files[{index}].file_size must be a positive number of bytes.")
        file_type = entry.get("file_type") or "application/zip"
        if not isinstance(file_type, str):
            raise bad_request(f"files[{index}].file_type must be a MIME type string.")
        parsed_files.append({"file_size": size, "file_type": file_type})
    for key in ("tags", "user_scopes", "user_group_scopes"):
        if not isinstance(body.get(key, []), list):
            raise bad_request(f"{key} must be a list.")
    fps = body.get("fps")
    if fps is not None and not (isinstance(fps, int | float) and not isinstance(fps, bool)):
        raise bad_request("fps must be a number.")
    return {
        "dataset_name": name,
        "dataset_type": dataset_type,
        "dataset_format": dataset_format,
        "labelling_mode": mode,
        "files": parsed_files,
        "tags": body.get("tags", []),
        "user_scopes": body.get("user_scopes", []),
        "user_group_scopes": body.get("user_group_scopes", []),
        "fps": fps,
        "sensor_maker": body.get("sensor_maker"),
    }


def stored_file_name(dataset_type: str, dataset_format: str | None, file_type: str, index: int) -> str:
    """The object name of the ``index``-th uploaded file: ``json_data.zip`` style [INFERRED]."""
    stem = dataset_format if dataset_type == "3d" else dataset_type
    suffix = FILE_EXTENSIONS.get(file_type, ".zip" if dataset_type != "video" else ".mp4")
    return f"{stem}_data{'' if index == 0 else f'_{index}'}{suffix}"


def parse_labels(body: Any, *, require_type: bool) -> list[dict[str, Any]]:
    """The label objects of an import (``{"type": "json", "labels": [...]}``) or a per-file set."""
    body = require_object(body)
    if require_type and body.get("type", "json") != "json":
        raise bad_request('Only {"type": "json"} label imports are supported.')
    labels = body.get("labels")
    if not isinstance(labels, list):
        raise bad_request("labels must be a list of label objects.")
    for index, label in enumerate(labels):
        if not isinstance(label, dict):
            raise bad_request(f"labels[{index}] must be an object.")
        for key in ("label_type", "label_category_id"):
            if not isinstance(label.get(key), str) or not label[key]:
                raise bad_request(f"labels[{index}].{key} is required.")
        if "attributes" in label and not isinstance(label["attributes"], dict):
            raise bad_request(f"labels[{index}].attributes must be an object.")
        if "label_id" in label and not isinstance(label["label_id"], str):
            raise bad_request(f"labels[{index}].label_id must be a string.")
    return labels
