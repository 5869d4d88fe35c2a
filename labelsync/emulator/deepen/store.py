"""Durable state of the Deepen emulator: one SQLite database plus upload files on disk.

Layout under ``data_dir``: ``deepen.sqlite3`` (profiles, datasets, upload sessions, files,
labels) and ``uploads/<upload_id>`` (the bytes of each resumable session, appended as they
arrive; see :mod:`.upload`). Everything survives a restart.

Thread safety: every public method takes one re-entrant lock and runs in its own
transaction, so methods may be called from any threadpool worker. Methods are blocking:
the ASGI layer calls them through a threadpool.

Processing is lazy: ``process_uploaded_data`` stores the preprocessing outcome with a due
time; any later read of the dataset past that time applies it (files appear, status moves
on). So a dataset progresses over a short time, observed on polling.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import bad_request, not_found
from .labelling import Labelling
from .processing import Outcome
from .rows import (
    DatasetState,
    SessionRow,
    new_id,
    now_ms,
    session_of,
)
from .validation import stored_file_name

SCHEMA = """
CREATE TABLE IF NOT EXISTS profiles (
    profile_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, doc TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS datasets (
    dataset_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, doc TEXT NOT NULL, profile TEXT NOT NULL,
    created_ms INTEGER NOT NULL, processing_status TEXT NOT NULL, message TEXT NOT NULL DEFAULT '',
    error TEXT, due REAL, pending TEXT, frame_sizes TEXT NOT NULL DEFAULT '[]',
    sensor_config TEXT NOT NULL DEFAULT '{}', processed_file TEXT);
CREATE TABLE IF NOT EXISTS sessions (
    upload_id TEXT PRIMARY KEY, dataset_id TEXT NOT NULL, client_id TEXT NOT NULL, position INTEGER NOT NULL,
    name TEXT NOT NULL, file_size INTEGER NOT NULL, file_type TEXT NOT NULL, created_ms INTEGER NOT NULL,
    complete INTEGER NOT NULL DEFAULT 0, cancelled INTEGER NOT NULL DEFAULT 0, generation TEXT, md5 TEXT,
    completed_ms INTEGER, bytes_received INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS files (
    dataset_id TEXT NOT NULL, file_id TEXT NOT NULL, position INTEGER NOT NULL, sensors TEXT NOT NULL,
    stage_index INTEGER NOT NULL DEFAULT 0, stage_status TEXT NOT NULL DEFAULT 'ready',
    PRIMARY KEY (dataset_id, file_id));
CREATE TABLE IF NOT EXISTS labels (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, dataset_id TEXT NOT NULL, label_set_id TEXT NOT NULL,
    file_id TEXT NOT NULL, label_id TEXT NOT NULL, doc TEXT NOT NULL,
    UNIQUE (dataset_id, label_set_id, file_id, label_id));
"""


class Store(Labelling):
    """The emulator's state; see the module docstring."""

    def __init__(self, data_dir: Path, *, processing_seconds: float = 0.5) -> None:
        self.data_dir = Path(data_dir)
        self.uploads_dir = self.data_dir / "uploads"
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        self.processing_seconds = processing_seconds
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            self.data_dir / "deepen.sqlite3", check_same_thread=False, isolation_level=None
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- labelling profiles -------------------------------------------------------------

    def create_profile(self, client_id: str, profile: dict[str, Any]) -> dict[str, Any]:
        """Save a normalised profile; returns it with ``profile_id`` and ``client_id``."""
        profile = {**profile, "profile_id": new_id(), "client_id": client_id}
        profile.setdefault("profile_name", "")
        with self._tx() as db:
            db.execute(
                "INSERT INTO profiles VALUES (?, ?, ?, ?)",
                (profile["profile_id"], client_id, json.dumps(profile), now_ms()),
            )
        return profile

    def list_profiles(self, client_id: str) -> list[dict[str, Any]]:
        with self._tx() as db:
            rows = db.execute(
                "SELECT doc FROM profiles WHERE client_id = ? ORDER BY created_ms, rowid", (client_id,)
            ).fetchall()
        return [json.loads(r["doc"]) for r in rows]

    def get_profile(self, profile_id: str) -> dict[str, Any]:
        with self._tx() as db:
            row = db.execute("SELECT doc FROM profiles WHERE profile_id = ?", (profile_id,)).fetchone()
        if row is None:
            raise not_found()
        return dict(json.loads(row["doc"]))

    # -- datasets -------------------------------------------------------------------------

    def create_dataset(self, client_id: str, doc: dict[str, Any], profile: dict[str, Any]) -> DatasetState:
        """Create a dataset and one upload session per ``doc["files"]`` entry."""
        dataset_id = new_id()
        created = now_ms()
        with self._tx() as db:
            db.execute(
                "INSERT INTO datasets (dataset_id, client_id, doc, profile, created_ms, processing_status, message)"
                " VALUES (?, ?, ?, ?, ?, 'files_to_be_uploaded', ?)",
                (
                    dataset_id,
                    client_id,
                    json.dumps(doc),
                    json.dumps(profile),
                    created,
                    "Waiting for the upload of the data files.",
                ),
            )
            for position, entry in enumerate(doc["files"]):
                name = stored_file_name(
                    doc["dataset_type"], doc["dataset_format"], entry["file_type"], position
                )
                db.execute(
                    "INSERT INTO sessions (upload_id, dataset_id, client_id, position, name, file_size, file_type, created_ms)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        new_id(64),
                        dataset_id,
                        client_id,
                        position,
                        name,
                        entry["file_size"],
                        entry["file_type"],
                        created,
                    ),
                )
            return self._load(db, dataset_id)

    def get_dataset(self, dataset_id: str) -> DatasetState:
        with self._tx() as db:
            return self._load(db, dataset_id)

    def list_datasets(self, client_id: str) -> list[DatasetState]:
        """The client's datasets, oldest first."""
        with self._tx() as db:
            ids = [
                r["dataset_id"]
                for r in db.execute(
                    "SELECT dataset_id FROM datasets WHERE client_id = ? ORDER BY created_ms, rowid",
                    (client_id,),
                )
            ]
            return [self._load(db, i) for i in ids]

    def delete_dataset(self, dataset_id: str) -> list[str]:
        """Delete a dataset with its files, labels and sessions; returns the session ids."""
        with self._tx() as db:
            self._load(db, dataset_id)
            uploads = [
                r["upload_id"]
                for r in db.execute("SELECT upload_id FROM sessions WHERE dataset_id = ?", (dataset_id,))
            ]
            for table in ("datasets", "sessions", "files", "labels"):
                db.execute(f"DELETE FROM {table} WHERE dataset_id = ?", (dataset_id,))
        return uploads

    def _load(self, db: sqlite3.Connection, dataset_id: str) -> DatasetState:
        row = db.execute("SELECT * FROM datasets WHERE dataset_id = ?", (dataset_id,)).fetchone()
        if row is None:
            raise not_found()
        if (
            row["processing_status"] == "files_uploaded"
            and row["due"] is not None
            and row["due"] <= time.time()
        ):
            self._finish_processing(db, row)
            row = db.execute("SELECT * FROM datasets WHERE dataset_id = ?", (dataset_id,)).fetchone()
        sessions = [
            session_of(r)
            for r in db.execute(
                "SELECT * FROM sessions WHERE dataset_id = ? ORDER BY position", (dataset_id,)
            )
        ]
        counts = {
            (r["stage_index"], r["stage_status"]): r["n"]
            for r in db.execute(
                "SELECT stage_index, stage_status, COUNT(*) AS n FROM files WHERE dataset_id = ?"
                " GROUP BY stage_index, stage_status",
                (dataset_id,),
            )
        }
        return DatasetState(
            dataset_id=row["dataset_id"],
            client_id=row["client_id"],
            doc=json.loads(row["doc"]),
            profile=json.loads(row["profile"]),
            created_ms=row["created_ms"],
            processing_status=row["processing_status"],
            message=row["message"],
            error=row["error"],
            frame_sizes=json.loads(row["frame_sizes"]),
            sensor_config=json.loads(row["sensor_config"]),
            sessions=sessions,
            stage_counts=counts,
        )

    # -- processing -----------------------------------------------------------------------

    def session_to_process(self, dataset_id: str, file_name: str) -> tuple[DatasetState, SessionRow | None]:
        """Check a ``process_uploaded_data`` call; the session to inspect, or None if already started.

        400 when ``file_name`` names no upload of the dataset or its upload is incomplete.
        """
        state = self.get_dataset(dataset_id)
        if state.processing_status != "files_to_be_uploaded":
            return state, None
        session = next((s for s in state.sessions if s.name == file_name), None)
        if session is None:
            names = ", ".join(s.name for s in state.sessions)
            raise bad_request(
                f"file_name {file_name!r} is not an upload of this dataset (expected one of: {names})."
            )
        if not session.complete:
            raise bad_request(f"The upload of {file_name} is not complete.")
        return state, session

    def start_processing(self, dataset_id: str, file_name: str, outcome: Outcome) -> DatasetState:
        """Move to ``files_uploaded``; the outcome applies ``processing_seconds`` later."""
        with self._tx() as db:
            state = self._load(db, dataset_id)
            if state.processing_status == "files_to_be_uploaded":
                db.execute(
                    "UPDATE datasets SET processing_status = 'files_uploaded', message = ?, due = ?, pending = ?,"
                    " processed_file = ? WHERE dataset_id = ?",
                    (
                        "Preprocessing the uploaded data.",
                        time.time() + self.processing_seconds,
                        json.dumps(outcome.to_json()),
                        file_name,
                        dataset_id,
                    ),
                )
            return self._load(db, dataset_id)

    def finish_processing_now(self, dataset_id: str) -> DatasetState:
        """Apply a pending preprocessing outcome at once (admin)."""
        with self._tx() as db:
            db.execute("UPDATE datasets SET due = 0 WHERE dataset_id = ? AND due IS NOT NULL", (dataset_id,))
            return self._load(db, dataset_id)

    def _finish_processing(self, db: sqlite3.Connection, row: sqlite3.Row) -> None:
        outcome = Outcome.from_json(json.loads(row["pending"]))
        dataset_id = row["dataset_id"]
        if outcome.error is not None:
            db.execute(
                "UPDATE datasets SET processing_status = 'preprocessing_error', message = ?, error = ?, due = NULL,"
                " pending = NULL WHERE dataset_id = ?",
                (outcome.error, outcome.error, dataset_id),
            )
            return
        db.executemany(
            "INSERT OR IGNORE INTO files (dataset_id, file_id, position, sensors) VALUES (?, ?, ?, ?)",
            [(dataset_id, fid, i, json.dumps(outcome.sensors[i])) for i, fid in enumerate(outcome.file_ids)],
        )
        db.execute(
            "UPDATE datasets SET processing_status = 'files_getting_labelled', message = ?, due = NULL, pending = NULL,"
            " frame_sizes = ?, sensor_config = ? WHERE dataset_id = ?",
            (outcome.message, json.dumps(outcome.frame_sizes), json.dumps(outcome.sensor_config), dataset_id),
        )

    # -- upload sessions --------------------------------------------------------------------

    def session_path(self, upload_id: str) -> Path:
        return self.uploads_dir / upload_id

    def get_session(self, upload_id: str) -> SessionRow | None:
        """The live session, or None when unknown, cancelled, or its dataset was deleted."""
        with self._tx() as db:
            row = db.execute(
                "SELECT * FROM sessions WHERE upload_id = ? AND cancelled = 0", (upload_id,)
            ).fetchone()
        return None if row is None else session_of(row)

    def add_received(self, upload_id: str, count: int) -> None:
        """Count body bytes received on a session (an emulator statistic, resent bytes included)."""
        with self._tx() as db:
            db.execute(
                "UPDATE sessions SET bytes_received = bytes_received + ? WHERE upload_id = ?",
                (count, upload_id),
            )

    def complete_session(self, upload_id: str, md5: str) -> SessionRow | None:
        """Mark a session complete (idempotent); None if it vanished meanwhile."""
        with self._tx() as db:
            db.execute(
                "UPDATE sessions SET complete = 1, md5 = ?, generation = ?, completed_ms = ?"
                " WHERE upload_id = ? AND complete = 0",
                (md5, str(time.time_ns() // 1000), now_ms(), upload_id),
            )
            row = db.execute("SELECT * FROM sessions WHERE upload_id = ?", (upload_id,)).fetchone()
        return None if row is None else session_of(row)

    def cancel_session(self, upload_id: str) -> bool:
        """Cancel a live, incomplete session; False when there is none."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE sessions SET cancelled = 1 WHERE upload_id = ? AND cancelled = 0 AND complete = 0",
                (upload_id,),
            )
        return cursor.rowcount > 0
