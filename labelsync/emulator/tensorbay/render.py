"""Turning stored items into the JSON the Open API returns, with signed download URLs.

A file's object key is ``<datasetId>/<sha1>`` (the policy's ``objectPrefix`` plus the
checksum); its URL is signed by :class:`~.signing.Signer` and expires after ``ttl``
seconds. labelsync extension: data items carry ``checksum`` and ``fileSize``, and so do
mask entries inside labels.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from labelsync.emulator.tensorbay.content import MASK_TYPES
from labelsync.emulator.tensorbay.signing import Signer


def mask_path(remote_path: str) -> str:
    """The server-side name of a data item's mask: ``<stem>.png`` (``a/b.jpg`` -> ``a/b.png``)."""
    path = PurePosixPath(remote_path)
    return str(path.with_name(f"{path.stem}.png")) if path.name else f"{remote_path}.png"


@dataclass(frozen=True)
class Renderer:
    """Renders the items of one dataset for one request (its public base URL)."""

    signer: Signer
    base_url: str
    dataset_id: str
    ttl: int

    def url(self, checksum: str) -> str:
        """A signed download URL for the blob ``checksum``."""
        return self.signer.sign_url(self.base_url, f"{self.dataset_id}/{checksum}", self.ttl)

    def label(self, text: str, remote_path: str) -> dict[str, Any]:
        """The stored label with mask descriptors turned into read form."""
        label: dict[str, Any] = json.loads(text)
        for kind in MASK_TYPES:
            mask = label.get(kind)
            if isinstance(mask, dict):
                entry: dict[str, Any] = {
                    "remotePath": mask_path(remote_path),
                    "url": self.url(mask["checksum"]),
                }
                if "info" in mask or kind == "PANOPTIC_MASK":
                    entry["info"] = mask.get("info") or []
                entry["checksum"] = mask["checksum"]
                entry["fileSize"] = mask.get("fileSize")
                label[kind] = entry
        return label

    def detail(self, row: sqlite3.Row, with_sensor: bool = False) -> dict[str, Any]:
        """One ``dataDetails`` entry (or, fusion, one entry of a frame)."""
        out: dict[str, Any] = {}
        if with_sensor:
            out["sensorName"] = row["sensor_name"]
        out["remotePath"] = row["remote_path"]
        out["url"] = self.url(row["checksum"])
        out["label"] = self.label(row["label"], row["remote_path"])
        if row["timestamp"] is not None:
            out["timestamp"] = row["timestamp"]
        out["checksum"] = row["checksum"]
        out["fileSize"] = row["file_size"]
        return out

    def frame(self, frame_id: str, rows: list[sqlite3.Row]) -> dict[str, Any]:
        """One fusion ``dataDetails`` entry: ``{frameId, frame: [...]}``."""
        return {"frameId": frame_id, "frame": [self.detail(r, with_sensor=True) for r in rows]}

    def mask_url(self, row: sqlite3.Row, mask_type: str) -> dict[str, Any] | None:
        """``masks/urls`` entry of one item: ``{remotePath, url}`` or None without that mask."""
        mask = json.loads(row["label"]).get(mask_type)
        if not isinstance(mask, dict):
            return None
        return {"remotePath": mask_path(row["remote_path"]), "url": self.url(mask["checksum"])}
