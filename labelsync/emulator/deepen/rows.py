"""The Deepen emulator's stored rows as values (sessions, files, datasets) and id helpers.

Pure conversions from :mod:`sqlite3` rows; :mod:`.store` and :mod:`.labelling` read and
write them.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import string
import time
from dataclasses import dataclass, field
from typing import Any

BUCKET = "deepen-emulator-uploads"
ID_ALPHABET = string.ascii_letters + string.digits
WORKFORCE_EMAIL = "workforce@emulator.labelsync"
API_EMAIL = "api@emulator.labelsync"

def new_id(length: int = 24) -> str:
    """A random id of ``[A-Za-z0-9]`` (Deepen dataset ids are 24 such characters)."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(length))


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class SessionRow:
    """One resumable upload session (a GCS session URI handed out at dataset creation)."""

    upload_id: str
    dataset_id: str
    client_id: str
    position: int
    name: str
    file_size: int
    file_type: str
    created_ms: int
    complete: bool
    cancelled: bool
    generation: str | None
    md5: str | None
    completed_ms: int | None
    bytes_received: int

    @property
    def object_name(self) -> str:
        """The GCS object path: ``<clientId>/<datasetId>/<stored name>``."""
        return f"{self.client_id}/{self.dataset_id}/{self.name}"


@dataclass(frozen=True)
class FileRow:
    """A processed file (frame or image) and where it stands in the pipeline."""

    dataset_id: str
    client_id: str
    file_id: str
    sensors: list[str]
    stage_index: int
    """Index into the pipeline stages; ``len(stages)`` once every stage is done."""
    stage_status: str
    """``ready``, ``in_progress`` or ``failed`` in the current stage (``done`` when finished)."""


@dataclass(frozen=True)
class DatasetState:
    """Everything needed to render a DatasetResource."""

    dataset_id: str
    client_id: str
    doc: dict[str, Any]
    profile: dict[str, Any]
    created_ms: int
    processing_status: str
    message: str
    error: str | None
    frame_sizes: list[int]
    sensor_config: dict[str, Any]
    sessions: list[SessionRow]
    stage_counts: dict[tuple[int, str], int] = field(default_factory=dict)

    @property
    def stages(self) -> list[str]:
        return [str(s["stage_id"]) for s in self.profile["pipeline_spec"]]


def session_of(row: sqlite3.Row) -> SessionRow:
    return SessionRow(
        upload_id=row["upload_id"],
        dataset_id=row["dataset_id"],
        client_id=row["client_id"],
        position=row["position"],
        name=row["name"],
        file_size=row["file_size"],
        file_type=row["file_type"],
        created_ms=row["created_ms"],
        complete=bool(row["complete"]),
        cancelled=bool(row["cancelled"]),
        generation=row["generation"],
        md5=row["md5"],
        completed_ms=row["completed_ms"],
        bytes_received=row["bytes_received"],
    )


def file_of(row: sqlite3.Row, client_id: str) -> FileRow:
    return FileRow(
        dataset_id=row["dataset_id"],
        client_id=client_id,
        file_id=row["file_id"],
        sensors=json.loads(row["sensors"]),
        stage_index=row["stage_index"],
        stage_status=row["stage_status"],
    )
