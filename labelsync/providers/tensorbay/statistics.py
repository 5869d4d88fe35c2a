"""TensorBay's label-statistics endpoint (``GET datasets/{id}/labels/statistics``) as the
live side of ``labelsync stats --remote``.

:func:`remote_statistics` answers the statistics of the label objects at the head of the
desired branch in one request (after the three that find the head), instead of listing every
item. It gives labelsync's statistics shape (:mod:`labelsync.plan.stats`) for the dataset as
a whole: one segment ``ALL_SEGMENTS``, no item counts (``items``/``unlabelled`` are ``None``:
not counted), every attribute value counted (keyed by canonical JSON; the core keeps the
enum ones), and ``uncounted`` naming the label types the endpoint does not count (masks).
``None`` when the platform has no such endpoint (a 404, 405 or 501 on it: an older server),
or the dataset or its branch head does not exist: the caller then lists the labels.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from labelsync.errors import RemoteError
from labelsync.providers.tensorbay.client import ROOT_COMMIT, TensorBayClient

__all__ = ["ALL_SEGMENTS", "UNCOUNTED", "from_wire", "remote_statistics"]

ALL_SEGMENTS = "(all segments)"
UNCOUNTED = ("SEMANTIC_MASK", "INSTANCE_MASK", "PANOPTIC_MASK")
"""Label types the endpoint leaves out (a mask is a picture, not objects)."""

_CANON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_ABSENT = (404, 405, 501)


def _values(entries: Any) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for a in entries if isinstance(entries, list) else []:
        if not isinstance(a, Mapping) or not isinstance(a.get("name"), str):
            continue
        enum, quantities = a.get("enum") or [], a.get("quantities") or []
        counts = out.setdefault(a["name"], {})
        for value, n in zip(enum, quantities, strict=False):
            if isinstance(n, int):
                key = _CANON.encode(value)
                counts[key] = counts.get(key, 0) + n
    return out


def from_wire(answer: Mapping[str, Any]) -> dict[str, Any]:
    """``labelStatistics`` -> labelsync's statistics of one side (see the module docstring)."""
    types: dict[str, Any] = {}
    for label_type, entry in (answer or {}).items():
        if not isinstance(entry, Mapping):
            continue
        categories = {
            str(c["name"]): int(c.get("quantity") or 0)
            for c in entry.get("categories") or []
            if isinstance(c, Mapping) and isinstance(c.get("name"), str)
        }
        types[str(label_type)] = {
            "labels": int(entry.get("quantity") or 0),
            "categories": categories,
            "attributes": _values(entry.get("attributes")),
        }
    segment = {"items": None, "unlabelled": None, "types": types}
    return {"segments": {ALL_SEGMENTS: segment}, "uncounted": list(UNCOUNTED)}


def remote_statistics(client: TensorBayClient, dataset_id: str | None, head: str | None) -> dict[str, Any] | None:
    """The statistics at commit ``head`` of ``dataset_id`` (see the module docstring)."""
    if dataset_id is None or head is None or head == ROOT_COMMIT:
        return None
    try:
        answer = client.get_label_statistics(dataset_id, {"commit": head})
    except RemoteError as exc:
        if exc.status in _ABSENT:
            return None
        raise
    return from_wire(answer)
