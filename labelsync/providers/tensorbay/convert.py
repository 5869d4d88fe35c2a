"""TensorBay wire JSON <-> labelsync state (pure).

* :func:`live_items` turns ``data/details`` entries (normal or fusion) into
  :class:`~labelsync.state.Item` values; mask entries read back as ``{remotePath, url,
  info, checksum?, fileSize?}`` become the ``{checksum, fileSize, info?}`` descriptors that
  desired labels hold, so equal content compares equal.
* :func:`callback_object` builds the ``multi/callback`` object (§5.2) of a planned file.
* :func:`digest_trailer` / :func:`read_trailer` write and read the desired-state digest that
  labelsync records in the commit description.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from labelsync.columns import ItemTable, TableBuilder
from labelsync.plan.model import FileChange
from labelsync.state import MASK_TYPES, Blob, Item, RemoteMask

DIGEST_TRAILER = "Labelsync-Digest"
SOURCE_TRAILER = "Labelsync-Source"
DRAFT_TITLE_PREFIX = "labelsync apply"
"""Drafts whose title starts with this were opened by labelsync (and may be resumed)."""

_TRAILER_RE = re.compile(rf"^{DIGEST_TRAILER}: (sha256:[0-9a-f]{{64}})\s*$", re.M)


def dataset_kind(type_value: Any) -> str:
    """``0`` -> ``normal``, ``1`` -> ``fusion``."""
    return "fusion" if int(type_value or 0) == 1 else "normal"


def _blob(entry: Mapping[str, Any]) -> Blob | None:
    checksum, size = entry.get("checksum"), entry.get("fileSize")
    if isinstance(checksum, str) and isinstance(size, int):
        return Blob(checksum, size)
    return None


def live_label(label: Mapping[str, Any] | None) -> dict[str, Any]:
    """A label read from ``data/details`` in the form desired labels use."""
    out: dict[str, Any] = {}
    for key, value in (label or {}).items():
        if key in MASK_TYPES and isinstance(value, Mapping):
            mask: dict[str, Any] = {}
            if "checksum" in value:
                mask["checksum"] = value["checksum"]
                mask["fileSize"] = value.get("fileSize")
            else:  # content unknown: keep something that never equals a descriptor
                mask["remotePath"] = value.get("remotePath")
            if "info" in value and (value["info"] or key == "PANOPTIC_MASK"):
                mask["info"] = value["info"]
            out[key] = mask
        elif value not in ({}, [], None):
            out[key] = value
    return out


def _item(entry: Mapping[str, Any], frame_id: str | None = None) -> Item:
    timestamp = entry.get("timestamp")
    return Item(
        remote_path=str(entry["remotePath"]),
        blob=_blob(entry),
        label=live_label(entry.get("label")),
        timestamp=float(timestamp) if timestamp is not None else None,
        frame_id=frame_id,
        sensor_name=entry.get("sensorName"),
    )


def live_items(details: Iterable[Mapping[str, Any]], *, fusion: bool) -> tuple[ItemTable, bool]:
    """``(items by remote path, verified)`` from ``data/details`` entries, as columns
    (:class:`~labelsync.columns.ItemTable`: a plain entry, no label, costs no object).

    ``verified`` is False when any entry lacks ``checksum``/``fileSize`` (a server without
    the labelsync extension): such items have ``blob=None``.
    """
    rows = TableBuilder()
    verified = True
    for entry in details:
        if fusion:
            for sub in entry.get("frame", []):
                item = _item(sub, frame_id=str(entry["frameId"]))
                rows.add(item)
                verified = verified and item.blob is not None
        elif not entry.get("label") and entry.get("timestamp") is None and entry.get("sensorName") is None:
            checksum, size = entry.get("checksum"), entry.get("fileSize")
            ok = isinstance(checksum, str) and isinstance(size, int)
            rows.add_plain(str(entry["remotePath"]), checksum if ok else None, size if ok else None)
            verified = verified and ok
        else:
            item = _item(entry)
            rows.add(item)
            verified = verified and item.blob is not None
    return rows.table(), verified


def callback_object(f: FileChange) -> dict[str, Any]:
    """The ``multi/callback`` object of a planned file."""
    obj: dict[str, Any] = {"checksum": f.blob.checksum, "fileSize": f.blob.size, "remotePath": f.remote_path}
    if f.timestamp is not None:
        obj["timestamp"] = f.timestamp
    if f.label:
        obj["label"] = f.label
    if f.frame_id:
        obj["frameId"] = f.frame_id
        obj["sensorName"] = f.sensor_name
    return obj


def digest_trailer(digest: str, source: Mapping[str, str]) -> str:
    """Trailer lines recorded at the end of a commit description."""
    lines = [f"{DIGEST_TRAILER}: {digest}"]
    where = source.get("repository", "")
    sha = source.get("commit", "")
    if where or sha:
        lines.append(f"{SOURCE_TRAILER}: {where}@{sha}" if where else f"{SOURCE_TRAILER}: {sha}")
    return "\n".join(lines)


def read_trailer(description: str | None) -> str | None:
    """The digest recorded in a commit description, or None."""
    if not description:
        return None
    found = _TRAILER_RE.findall(description)
    return found[-1] if found else None


def pulled_label(label: Mapping[str, Any], fetch: Callable[[str], bytes]) -> dict[str, Any]:
    """A ``data/details`` label for ``labelsync pull``: empty values dropped as in
    :func:`live_label`, masks as :class:`~labelsync.state.RemoteMask` (content identity
    when the server gives it, ``info``, and ``fetch(url)`` to download the bytes)."""
    out: dict[str, Any] = {}
    for key, value in label.items():
        if key in MASK_TYPES and isinstance(value, Mapping):
            out[key] = RemoteMask(blob=_blob(value), info=value.get("info"), fetch=partial(fetch, str(value.get("url") or "")))
        elif value not in ({}, [], None):
            out[key] = value
    return out
