"""Provider-neutral state values: what a dataset *is*, locally (desired) or remotely (live).

Both sides of a diff are expressed in these types, so the differ never sees a manifest
model or a wire model. Everything here is pure data: frozen dataclasses holding plain JSON
values (``dict``/``list``/``str``/numbers), no I/O.

Conventions (the contract between ``local``/``manifest`` (desired), the providers (live)
and ``plan.differ``):

* Labels are held in the TensorBay label JSON of ``api/tensorbay.md`` §4 (the richest of
  the two platforms), keyed by UPPER-CASE type. ``{}`` means "no label". Masks inside a
  label are ``{"checksum", "fileSize", "info"?}`` file descriptors; the mask file's bytes are
  found through :attr:`Item.masks`.
* A catalog is the TensorBay catalog JSON (§4.1); ``{}`` means "no catalog".
* Sensors are TensorBay sensor JSON (§5.1) keyed by name.
* ``settings`` hold provider-specific dataset properties that the differ compares as a
  whole (tensorbay: ``alias``, ``description``; deepen: ``dataset_type``,
  ``dataset_format``, ``labelling_mode``, ``pipeline``...). Values equal to the provider's
  default are left out so desired and live compare equal.
* A content identity is the SHA-1 of the bytes (:class:`Blob`). A live item whose server
  did not report a checksum has ``blob=None``: its content cannot be verified.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labelsync.renames import Renames

JSON = Any
"""A JSON value: dict, list, str, int, float, bool or None."""

MASK_TYPES = ("SEMANTIC_MASK", "INSTANCE_MASK", "PANOPTIC_MASK")

GEOMETRY_KEY = {
    "BOX2D": "box2d",
    "BOX3D": "box3d",
    "POLYGON": "polygon",
    "MULTI_POLYGON": "multiPolygon",
    "RLE": "rle",
    "POLYLINE2D": "polyline2d",
    "MULTI_POLYLINE2D": "multiPolyline2d",
    "KEYPOINTS2D": "keypoints2d",
}
"""Where each list type of label JSON keeps an object's geometry (``docs/labels.md``)."""


@dataclass(frozen=True, slots=True)
class Blob:
    """The identity of some bytes: SHA-1 hex digest and size."""

    checksum: str
    size: int


@dataclass(frozen=True, slots=True)
class Item:
    """One data item of a segment (a file, plus its label).

    ``source`` is where the bytes can be read (an absolute local path) on the desired side,
    and ``None`` on the live side. ``masks`` maps a mask type to its mask file's blob and
    source, for the masks referenced from ``label``.
    """

    remote_path: str
    blob: Blob | None
    label: JSON = field(default_factory=dict)
    timestamp: float | None = None
    frame_id: str | None = None
    sensor_name: str | None = None
    source: str | None = None
    masks: Mapping[str, MaskFile] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MaskFile:
    """A mask image referenced from a label: its content and (desired side) local path."""

    blob: Blob
    source: str | None = None


@dataclass(frozen=True)
class RemoteMask:
    """A mask as a provider reads it for ``labelsync pull``: its content identity (``None``
    when the remote does not say), its ``info`` (``None`` when absent) and how to download
    its bytes."""

    blob: Blob | None
    info: Any
    fetch: Callable[[], bytes]


@dataclass(frozen=True, slots=True)
class Segment:
    """A segment: its sensors (fusion datasets) and its items keyed by remote path."""

    name: str
    sensors: Mapping[str, JSON] = field(default_factory=dict)
    items: Mapping[str, Item] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True, slots=True)
class Dataset:
    """A dataset as a whole, desired or live.

    ``provider`` is ``"tensorbay"`` or ``"deepen"``; ``kind`` is ``normal``/``fusion``
    (tensorbay) or the deepen ``dataset_type`` (``images``/``video``/``3d``).
    """

    name: str
    provider: str
    kind: str
    remote: str = "default"
    branch: str = "main"
    settings: Mapping[str, JSON] = field(default_factory=dict)
    notes: Mapping[str, JSON] = field(default_factory=dict)
    catalog: Mapping[str, JSON] = field(default_factory=dict)
    segments: Mapping[str, Segment] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Policy:
    """What the user allowed for one dataset (from the manifest and the command line).

    ``prune``: delete remote segments/files/sensors the manifest no longer lists.
    ``allow_replace``: a change that needs delete-and-recreate (deepen) may be applied.
    ``protect``: the dataset must never be deleted or replaced, whatever the flags.
    """

    prune: bool = False
    allow_replace: bool = False
    protect: bool = False


@dataclass(frozen=True, slots=True)
class Desired:
    """A desired dataset with its policy and the digest of its content.

    ``digest`` is :func:`dataset_digest` of ``dataset``; ``manifest`` is the file (and line)
    that declared it, for messages. ``renames`` are the renames the manifest declares: the
    dataset already has the new names (labels written with old ones were mapped when it was
    built); the plan uses them to show a rename rather than a delete and an add.
    """

    dataset: Dataset
    policy: Policy
    digest: str
    manifest: str = ""
    renames: Renames = field(default_factory=Renames)


@dataclass(frozen=True, slots=True)
class Live:
    """What the remote holds for one desired dataset.

    ``dataset`` is ``None`` when the dataset does not exist. ``head`` is the revision the
    live state was read at (tensorbay: the branch head commit id; deepen: the dataset id).
    ``recorded_digest`` is the desired digest labelsync recorded with that revision (a
    commit trailer), when there is one. When ``recorded_digest`` equals the desired digest,
    ``dataset`` may be left unread (``complete=False``): the plan is a proven no-op.
    ``verified`` is False when the server did not report checksums, so content could not
    be compared. ``open_draft`` describes an open draft on the branch, if any
    (``{"number", "title", "ours": bool}``). ``info`` holds provider facts for ``status``
    (and ``requests``: how many requests reading this live state took, when the provider
    counts them). ``refusals`` are one-line reasons the remote would refuse part of the
    desired state, found while reading it (e.g. a catalog change the remote's own check
    refuses because annotations use what it removes); the differ makes each one a blocked
    reason of the plan, so apply refuses it before writing anything.
    """

    dataset: Dataset | None
    head: str | None = None
    recorded_digest: str | None = None
    complete: bool = True
    verified: bool = True
    open_draft: Mapping[str, JSON] | None = None
    remote_id: str | None = None
    info: Mapping[str, JSON] = field(default_factory=dict)
    refusals: tuple[str, ...] = ()


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(value: JSON) -> str:
    """Serialise a JSON value deterministically (sorted keys, no spaces, UTF-8 kept)."""
    return _ENCODER.encode(value)


def item_fingerprint(item: Item) -> JSON:
    """The comparable content of an item: everything but where the bytes live locally."""
    return {
        "remotePath": item.remote_path,
        "checksum": item.blob.checksum if item.blob else None,
        "fileSize": item.blob.size if item.blob else None,
        "label": item.label,
        "timestamp": item.timestamp,
        "frameId": item.frame_id,
        "sensorName": item.sensor_name,
    }


_STR = json.encoder.encode_basestring


def _num(value: float | int | None) -> str:
    return "null" if value is None else _ENCODER.encode(value)


def item_line(item: Item) -> str:
    """``canonical_json(item_fingerprint(item))``, built directly (the digest's hot path).

    Keys in sorted order: checksum, fileSize, frameId, label, remotePath, sensorName,
    timestamp. ``tests/test_state.py`` checks it equals the generic encoding.
    """
    blob = item.blob
    return (
        f'{{"checksum":{_STR(blob.checksum) if blob else "null"},"fileSize":{blob.size if blob else "null"},'
        f'"frameId":{_STR(item.frame_id) if item.frame_id is not None else "null"},'
        f'"label":{canonical_json(item.label) if item.label else "{}"},"remotePath":{_STR(item.remote_path)},'
        f'"sensorName":{_STR(item.sensor_name) if item.sensor_name is not None else "null"},'
        f'"timestamp":{_num(item.timestamp)}}}'
    )


def dataset_digest(dataset: Dataset, *, prune: bool = False) -> str:
    """A SHA-256 over what the remote holds after applying ``dataset`` (``sha256:<hex>``).

    Two datasets with equal digests need no changes between them. Local paths (``source``)
    do not take part, so the same content checked out elsewhere has the same digest.
    Segment descriptions do not either (no provider stores them). ``prune`` does: turning
    it on changes what apply does to a remote that holds more than the manifest lists.
    """
    h = hashlib.sha256()
    head: dict[str, Any] = {
        "name": dataset.name,
        "provider": dataset.provider,
        "kind": dataset.kind,
        "branch": dataset.branch,
        "settings": dataset.settings,
        "notes": dataset.notes,
        "catalog": dataset.catalog,
    }
    if prune:
        head["prune"] = True
    h.update(canonical_json(head).encode())
    for seg_name in sorted(dataset.segments):
        seg = dataset.segments[seg_name]
        h.update(b"\nsegment:")
        h.update(canonical_json({"name": seg.name, "sensors": seg.sensors}).encode())
        _feed_lines(h.update, seg.items)
    return "sha256:" + h.hexdigest()


def _feed_lines(update: Callable[[bytes], object], items: Mapping[str, Item], chunk: int = 4096) -> None:
    """Feed ``"\\n".join(item_line(items[p]) for p in sorted(items))`` to ``update`` a chunk of
    lines at a time: the same bytes, never the whole text (hundreds of MB at a million files).
    A columnar table (:class:`labelsync.columns.ItemTable`: sorted ``paths`` and a ``line(i)``)
    is read row by row without building its items."""
    line = getattr(items, "line", None)
    if line is not None:
        n = len(items)
        rows: Any = range(n)
    else:
        rows = sorted(items)
        n = len(rows)
        line = lambda path: item_line(items[path])  # noqa: E731
    for start in range(0, n, chunk):
        text = "\n".join([line(r) for r in rows[start : start + chunk]])
        update((("\n" + text) if start else text).encode())
