"""Pure conversions between labelsync's state values and the Deepen wire JSON (``api/deepen.md``).

No I/O. Four groups:

* **Profile**: a TensorBay catalog (the form :mod:`labelsync.state` holds) becomes the inline
  ``labelling_profile`` of a dataset through the mapping table of
  :mod:`labelsync.providers.deepen.features`; :func:`catalog_from_profile` is the inverse. The
  profile holds less than a catalog (no descriptions, ``isTracking``, keypoint names...), so
  the inverse gives the *projection* of a catalog: what Deepen can hold of it.
  :func:`catalog_projection` is that projection of a desired catalog; when it equals the
  inverse of the live profile, the remote holds everything it can of the desired catalog.
* **Settings**: the desired ``settings`` (dataset_type, dataset_format, labelling_mode,
  pipeline, instructions, fps, tags) to the create body, and back from a DatasetResource.
* **Bookkeeping tags**: labelsync records the desired digest, a digest of the data files it
  zipped and the id of the saved labelling profile it created the dataset from as dataset
  tags (``labelsync-digest:sha256:...``, ``labelsync-content:sha256:...``,
  ``labelsync-profile:<id>``): the API stores tags verbatim, a DatasetResource does not show
  its profile, and there is no per-file checksum anywhere in the contract.
* **Labels**: TensorBay label JSON of one data item <-> a list of Deepen LabelResources.

Label geometry (``api/deepen.md`` §5), TensorBay -> Deepen:

==============  ============  ===========================================================
TensorBay       Deepen        geometry
==============  ============  ===========================================================
BOX2D           box           ``box2d {xmin,ymin,xmax,ymax}`` -> ``box [x, y, w, h]``
POLYGON         polygon       ``polygon [{x,y}..]`` -> ``polygons [[[x,y]..]]`` (one ring)
POLYLINE2D      lane          ``polyline2d [{x,y}..]`` -> ``polygons [[[x,y]..]]``
KEYPOINTS2D     point         one point ``{x,y,v?}`` -> ``point [x, y]`` or ``[x, y, v]`` [INFERRED]
CLASSIFICATION  scene         category and attributes only (a category is required)
BOX3D           3d_bbox       ``translation/size/rotation`` -> ``cx,cy,cz, l,w,h, quaternion, rot_z``
==============  ============  ===========================================================

Label conversion (and label identity) is in :mod:`.labels`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any

from labelsync.errors import LocalDataError
from labelsync.providers.deepen.features import DEEPEN_FEATURES
from labelsync.state import Item, canonical_json

DIGEST_TAG = "labelsync-digest:"
CONTENT_TAG = "labelsync-content:"
PROFILE_TAG = "labelsync-profile:"
DEFAULT_PIPELINE = ({"stage_id": "Labelling", "can_edit": True}, {"stage_id": "QA", "can_edit": False})
DEFAULT_MODE = "frame_by_frame"
ZIP_TYPE = "application/zip"
VIDEO_TYPE = "video/mp4"

FEATURE_OF: dict[str, str] = {k: v.feature for k, v in DEEPEN_FEATURES.items() if v.feature is not None}
"""TensorBay label type -> Deepen feature (label_type)."""
TYPE_OF: dict[str, str] = {v: k for k, v in FEATURE_OF.items()}
"""Deepen feature (label_type) -> TensorBay label type."""
FEATURES_3D = frozenset({"3d_bbox"})


class ConvertError(LocalDataError):
    """A label or catalog that has no Deepen form (validation normally catches it first)."""


# --------------------------------------------------------------------------- profile


def profile_for(catalog: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """The inline ``labelling_profile`` for a TensorBay ``catalog`` and deepen ``settings``.

    ``features`` has one entry per catalog type that maps (``{attributes, label_category_ids}``;
    attributes keyed by name, valued by the TensorBay definition without its name), every
    pipeline stage gets the same ``skills``, ``instructions`` is ``{"text": ...}``.
    """
    features: dict[str, Any] = {}
    for label_type, sub in catalog.items():
        feature = FEATURE_OF.get(label_type)
        if feature is None:
            raise ConvertError(f"label type {label_type} has no Deepen equivalent", hint="run labelsync validate")
        sub = sub or {}
        attributes = {a["name"]: {k: v for k, v in a.items() if k != "name"} for a in sub.get("attributes") or []}
        categories = [c["name"] for c in sub.get("categories") or []]
        features[feature] = {"attributes": attributes, "label_category_ids": categories}
    skills: dict[str, Any] = {name: {} for name in features}
    stages = settings.get("pipeline") or DEFAULT_PIPELINE
    return {
        "pipeline_spec": [{"stage_id": s["stage_id"], "can_edit": bool(s["can_edit"]), "skills": dict(skills)} for s in stages],
        "features": features,
        "instructions": {"text": settings.get("instructions") or ""},
        "notification_url": "",
    }


def catalog_from_profile(profile: Mapping[str, Any]) -> dict[str, Any]:
    """The TensorBay catalog a profile stands for (the inverse of :func:`profile_for`).

    Features with no TensorBay type are left out. Attributes come back sorted by name.
    """
    out: dict[str, Any] = {}
    for feature, body in (profile.get("features") or {}).items():
        label_type = TYPE_OF.get(feature)
        if label_type is None or not isinstance(body, dict):
            continue
        sub: dict[str, Any] = {}
        cats = [c for c in body.get("label_category_ids") or [] if isinstance(c, str)]
        if cats:
            sub["categories"] = [{"name": c} for c in cats]
        attrs = body.get("attributes") or {}
        if isinstance(attrs, dict) and attrs:
            sub["attributes"] = [{"name": n, **(d if isinstance(d, dict) else {})} for n, d in sorted(attrs.items())]
        if label_type == "KEYPOINTS2D":
            sub["keypoints"] = [{"number": 1}]
        out[label_type] = sub
    return out


def catalog_projection(catalog: Mapping[str, Any]) -> dict[str, Any]:
    """What Deepen can hold of ``catalog``: ``catalog_from_profile(profile_for(catalog))``."""
    return catalog_from_profile(profile_for(catalog, {}))


# --------------------------------------------------------------------------- settings and tags


def user_tags(tags: Iterable[Any]) -> list[str]:
    """The dataset's tags without labelsync's bookkeeping tags (tags may be strings or objects)."""
    out = []
    for tag in tags:
        text = tag if isinstance(tag, str) else str((tag or {}).get("name", "")) if isinstance(tag, dict) else str(tag)
        if text and not text.startswith((DIGEST_TAG, CONTENT_TAG, PROFILE_TAG)):
            out.append(text)
    return out


def read_tag(tags: Iterable[Any], prefix: str) -> str | None:
    """The value of the first tag starting with ``prefix`` (``None`` when there is none)."""
    for tag in tags:
        if isinstance(tag, str) and tag.startswith(prefix):
            return tag[len(prefix):]
    return None


def content_digest(items: Iterable[Item]) -> str:
    """SHA-256 over the sorted ``(remotePath, checksum, size)`` of the data files (``sha256:<hex>``)."""
    h = hashlib.sha256()
    for item in sorted(items, key=lambda i: i.remote_path):
        checksum, size = (item.blob.checksum, item.blob.size) if item.blob else ("", -1)
        h.update(canonical_json([item.remote_path, checksum, size]).encode() + b"\n")
    return "sha256:" + h.hexdigest()


def content_digest_of(entries: Iterable[tuple[str, str, int]]) -> str:
    """:func:`content_digest` from ``(remotePath, checksum, size)`` triples (plan side)."""
    h = hashlib.sha256()
    for path, checksum, size in sorted(entries):
        h.update(canonical_json([path, checksum, size]).encode() + b"\n")
    return "sha256:" + h.hexdigest()


def create_body(
    name: str,
    settings: Mapping[str, Any],
    catalog: Mapping[str, Any],
    *,
    file_size: int,
    digest: str,
    content: str,
    profile_id: str | None = None,
) -> dict[str, Any]:
    """The ``POST /clients/{id}/datasets`` body (§3.1.1) with one file and the bookkeeping tags.

    The profile goes inline and, when ``profile_id`` is given (the same profile saved
    beforehand, the only way to read it back later), by id too.
    """
    dataset_type = str(settings.get("dataset_type") or "images")
    body: dict[str, Any] = {
        "dataset_name": name,
        "dataset_type": dataset_type,
        "labelling_mode": settings.get("labelling_mode") or DEFAULT_MODE,
        "labelling_profile": profile_for(catalog, settings),
        "files": [{"file_size": file_size, "file_type": VIDEO_TYPE if dataset_type == "video" else ZIP_TYPE}],
        "tags": [*settings.get("tags", []), DIGEST_TAG + digest, CONTENT_TAG + content],
    }
    if profile_id:
        body["labelling_profile_id"] = profile_id
        body["tags"].append(PROFILE_TAG + profile_id)
    if settings.get("dataset_format"):
        body["dataset_format"] = settings["dataset_format"]
    if settings.get("fps") is not None:
        body["fps"] = settings["fps"]
    return body


def live_settings(resource: Mapping[str, Any], profile: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a DatasetResource stands for, defaults left out as :mod:`labelsync.desired` does.

    ``dataset_format`` is kept when it is not the server's default for the type, or when
    ``desired`` states it (``3d`` datasets default to ``default`` on the server).
    """
    dataset_type = resource.get("dataset_type")
    out: dict[str, Any] = {"dataset_type": dataset_type}
    fmt = resource.get("dataset_format")
    server_default = "default" if dataset_type == "3d" else None
    if fmt and (fmt != server_default or "dataset_format" in desired):
        out["dataset_format"] = fmt
    mode = resource.get("labelling_mode") or DEFAULT_MODE
    if mode != DEFAULT_MODE:
        out["labelling_mode"] = mode
    stages = [{"stage_id": s.get("stage_id"), "can_edit": bool(s.get("can_edit"))} for s in profile.get("pipeline_spec") or resource.get("pipeline_spec") or []]
    if stages and stages != list(DEFAULT_PIPELINE):
        out["pipeline"] = stages
    instructions = profile.get("instructions")
    text = instructions.get("text") if isinstance(instructions, dict) else instructions
    if text:
        out["instructions"] = text
    if resource.get("fps") is not None:
        out["fps"] = resource["fps"]
    tags = user_tags(resource.get("tags") or [])
    if tags:
        out["tags"] = tags
    return out


# --------------------------------------------------------------------------- file ids


def file_id_for(remote_path: str, dataset_type: str, dataset_format: str | None) -> str | None:
    """The Deepen file id of a data item, or ``None`` when the item is not a labelled file.

    images: the zip entry path (= remotePath); 3d json: frame ``<stem>.json`` at the zip
    root -> ``<stem>.pcd`` (other entries, e.g. camera images, are not files); 3d default:
    the ``.pcd`` file name; video: ``None`` (the only file id is the server's stored name).
    """
    p = PurePosixPath(remote_path)
    if dataset_type == "images":
        return remote_path
    if dataset_type == "3d" and dataset_format == "json":
        return f"{p.stem}.pcd" if len(p.parts) == 1 and p.suffix.lower() == ".json" else None
    if dataset_type == "3d":
        return p.name if p.suffix.lower() == ".pcd" else None
    return None


def remote_path_guess(file_id: str, dataset_type: str, dataset_format: str | None) -> str:
    """The remotePath of a file id that no desired item claims (3d json ``0001.pcd`` -> ``0001.json``)."""
    if dataset_type == "3d" and dataset_format == "json" and file_id.lower().endswith(".pcd"):
        return file_id[:-4] + ".json"
    return file_id
