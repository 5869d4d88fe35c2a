"""JSON shapes the emulator answers with: DatasetResource (§4.1), FileResource (§3.2), GCS object.

Pure functions from :mod:`.store` values to dicts. ``base_url`` is the emulator's public
base (scheme://host:port, no trailing slash), derived from each request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from .rows import BUCKET, DatasetState, FileRow, SessionRow

COUNTER_KEYS = ("done", "failed", "in_progress", "ready", "waiting")


def upload_url(base_url: str, session: SessionRow) -> str:
    """The GCS-style session URI: ``.../upload/storage/v1/b/<bucket>/o?uploadType=resumable&name=...&upload_id=...``."""
    return (
        f"{base_url}/upload/storage/v1/b/{BUCKET}/o?uploadType=resumable"
        f"&name={quote(session.object_name, safe='')}&upload_id={session.upload_id}"
    )


def stage_counters(state: DatasetState) -> dict[str, dict[str, int]]:
    """Per pipeline stage, files per status: before its stage ``waiting``, past it ``done``."""
    stages = state.stages
    counters = {stage: dict.fromkeys(COUNTER_KEYS, 0) for stage in stages}
    for (index, status), count in state.stage_counts.items():
        for position, stage in enumerate(stages):
            if position < index:
                counters[stage]["done"] += count
            elif position > index:
                counters[stage]["waiting"] += count
            else:
                counters[stage][status if status in COUNTER_KEYS else "ready"] += count
    return counters


def current_stage(state: DatasetState) -> tuple[str, str]:
    """``(current_stage, current_stage_status)`` from processing and pipeline progress.

    FileUpload (waiting / in_progress / done) -> Processing (in_progress; ``waiting`` after a
    preprocessing error) -> Labelling (ready until work starts, in_progress, done once every
    file passed every pipeline stage). [INFERRED] ``Audit`` is never reported; the whole
    pipeline (Labelling and QA stages) is the ``Labelling`` dataset stage.
    """
    status = state.processing_status
    if status == "files_to_be_uploaded":
        if all(s.complete for s in state.sessions):
            return "FileUpload", "done"
        started = any(s.complete or s.bytes_received for s in state.sessions)
        return "FileUpload", "in_progress" if started else "waiting"
    if status == "files_uploaded":
        return "Processing", "in_progress"
    if status == "preprocessing_error":
        return "Processing", "waiting"
    total = sum(state.stage_counts.values())
    done = sum(n for (index, _), n in state.stage_counts.items() if index >= len(state.stages))
    if total and done == total:
        return "Labelling", "done"
    if state.stage_counts.get((0, "ready"), 0) == total:
        return "Labelling", "ready"
    return "Labelling", "in_progress"


def dataset_resource(state: DatasetState, base_url: str) -> dict[str, Any]:
    """The DatasetResource: the union of the newer and older documented property lists."""
    counters = stage_counters(state)
    total = sum(state.stage_counts.values())
    all_done = sum(n for (index, _), n in state.stage_counts.items() if index >= len(state.stages))
    stage, stage_status = current_stage(state)
    doc = state.doc
    return {
        "dataset_id": state.dataset_id,
        "client_id": state.client_id,
        "dataset_name": doc["dataset_name"],
        "dataset_type": doc["dataset_type"],
        "dataset_format": doc["dataset_format"],
        "labelling_mode": doc["labelling_mode"],
        "create_timestamp_millis": state.created_ms,
        "fps": doc.get("fps"),
        "sensor_maker": doc.get("sensor_maker"),
        "tags": doc.get("tags", []),
        "user_scopes": doc.get("user_scopes", []),
        "user_group_scopes": doc.get("user_group_scopes", []),
        "files": [
            {
                "file_size": s.file_size,
                "file_type": s.file_type,
                "resumable_upload_url": upload_url(base_url, s),
            }
            for s in state.sessions
        ],
        "uploaded_files": [s.name for s in state.sessions if s.complete],
        "folder_path": f"{state.client_id}/defaultproject/{state.dataset_id}",
        "processing_status": state.processing_status,
        "processing_status_message": state.message,
        "processing_error_message": state.error or "",
        "sensor_config": state.sensor_config,
        "frame_sizes": state.frame_sizes,
        "pipeline_spec": state.profile["pipeline_spec"],
        "current_stage": stage,
        "current_stage_status": stage_status,
        "pipeline_stage_status": counters,
        "pipeline_status_by_label_set_id": {"default": counters},
        "pipeline_status": {
            **{name: c["done"] for name, c in counters.items()},
            "__ALL_STAGES_DONE": all_done,
            "__TOTAL": total,
        },
        "status": {"finished": all_done},
    }


def file_status(row: FileRow, stages: list[str]) -> str:
    """``<stage>_in_progress`` while in a stage (ready or worked on), ``<stage>_failed``, ``done``.

    [INFERRED] Only ``labelling_in_progress`` is documented (for files ready in Labelling).
    """
    if row.stage_index >= len(stages):
        return "done"
    stage = stages[row.stage_index].lower()
    return f"{stage}_failed" if row.stage_status == "failed" else f"{stage}_in_progress"


def file_resource(row: FileRow, stages: list[str]) -> dict[str, Any]:
    """The FileResource; ``sensors`` only for 3d datasets (where the processor names them)."""
    resource: dict[str, Any] = {
        "client_id": row.client_id,
        "dataset_id": row.dataset_id,
        "file_id": row.file_id,
        "status": file_status(row, stages),
    }
    if row.sensors:
        resource["sensors"] = row.sensors
    return resource


def rfc3339(millis: int | None) -> str:
    moment = datetime.fromtimestamp((millis or 0) / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def gcs_object(session: SessionRow) -> dict[str, Any]:
    """The GCS object resource returned when an upload completes (§7.2 rule 5; no crc32c)."""
    return {
        "kind": "storage#object",
        "id": f"{BUCKET}/{session.object_name}/{session.generation}",
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{BUCKET}/o/{quote(session.object_name, safe='')}",
        "name": session.object_name,
        "bucket": BUCKET,
        "generation": session.generation,
        "metageneration": "1",
        "contentType": session.file_type,
        "size": str(session.file_size),
        "md5Hash": session.md5,
        "timeCreated": rfc3339(session.completed_ms),
        "updated": rfc3339(session.completed_ms),
        "storageClass": "STANDARD",
        "etag": f"CL{session.generation}EAE=",
    }
