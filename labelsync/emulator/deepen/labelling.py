"""Files and labels of processed datasets: the workforce's stage moves and label storage.

A mixin of :class:`.store.Store`: methods use its ``_tx`` (one transaction under the store's
lock) and ``_load`` (the dataset, processing applied when due).
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from .errors import bad_request, not_found
from .rows import API_EMAIL, DatasetState, FileRow, file_of, now_ms


class Labelling:
    """Files and labels (see the module docstring)."""

    def _tx(self) -> Any:  # provided by Store
        raise NotImplementedError

    def _load(self, db: sqlite3.Connection, dataset_id: str) -> DatasetState:  # provided by Store
        raise NotImplementedError

    # -- files --------------------------------------------------------------------------------

    def list_files(self, dataset_id: str) -> tuple[DatasetState, list[FileRow]]:
        with self._tx() as db:
            state = self._load(db, dataset_id)
            rows = db.execute(
                "SELECT * FROM files WHERE dataset_id = ? ORDER BY position", (dataset_id,)
            ).fetchall()
        return state, [file_of(r, state.client_id) for r in rows]

    def get_file(self, dataset_id: str, file_id: str) -> tuple[DatasetState, FileRow]:
        with self._tx() as db:
            state = self._load(db, dataset_id)
            row = db.execute(
                "SELECT * FROM files WHERE dataset_id = ? AND file_id = ?", (dataset_id, file_id)
            ).fetchone()
        if row is None:
            raise not_found()
        return state, file_of(row, state.client_id)

    def move_files(
        self, dataset_id: str, action: str, file_ids: list[str] | None, stage_id: str | None
    ) -> DatasetState:
        """Workforce: ``start``, ``submit``, ``fail``, ``reject`` or ``complete`` files.

        * ``start``: the current stage goes ``in_progress``.
        * ``submit``: the current stage is done; the file goes ``ready`` in the next stage, or
          done after the last one.
        * ``fail``: the current stage goes ``failed``.
        * ``reject``: back to the previous stage, ``ready`` (a QA rejection).
        * ``complete``: every stage done.

        ``file_ids`` None means every file (that is at ``stage_id`` when given). A listed file
        that is done, or not at ``stage_id``, is a 400.
        """
        with self._tx() as db:
            state = self._load(db, dataset_id)
            if state.processing_status != "files_getting_labelled":
                raise bad_request("The dataset has no processed files yet.")
            stages = state.stages
            if stage_id is not None and stage_id not in stages:
                raise bad_request(f"Unknown stage_id {stage_id!r}; stages are {', '.join(stages)}.")
            rows = {
                r["file_id"]: r for r in db.execute("SELECT * FROM files WHERE dataset_id = ?", (dataset_id,))
            }
            if file_ids is None:
                targets = [
                    r for r in rows.values() if stage_id is None or r["stage_index"] == stages.index(stage_id)
                ]
                if action != "complete":
                    targets = [r for r in targets if r["stage_index"] < len(stages)]
            else:
                missing = [f for f in file_ids if f not in rows]
                if missing:
                    raise bad_request(f"Unknown file id(s): {', '.join(missing)}.")
                targets = [rows[f] for f in file_ids]
            for row in targets:
                index, status = row["stage_index"], row["stage_status"]
                if action != "complete":
                    if index >= len(stages):
                        raise bad_request(f"{row['file_id']} has passed every stage.")
                    if stage_id is not None and stages[index] != stage_id:
                        raise bad_request(f"{row['file_id']} is in stage {stages[index]}, not {stage_id}.")
                index, status = _next(action, index, len(stages))
                db.execute(
                    "UPDATE files SET stage_index = ?, stage_status = ? WHERE dataset_id = ? AND file_id = ?",
                    (index, status, dataset_id, row["file_id"]),
                )
            return self._load(db, dataset_id)

    # -- labels -------------------------------------------------------------------------------

    def save_labels(
        self,
        dataset_id: str,
        label_set_id: str,
        labels: list[dict[str, Any]],
        *,
        replace_file: str | None = None,
        labeller: str = API_EMAIL,
    ) -> list[dict[str, Any]]:
        """Upsert labels by ``(file_id, label_id)``; returns the stored label objects.

        With ``replace_file``, every label of that file in the label set is replaced and
        each label's ``file_id`` is forced to it. A missing ``label_id`` gets
        ``<category>:<n>`` with the next free ``n`` of the dataset. Bookkeeping fields
        (``dataset_id``, ``label_set_id``, ``stage_id``, times, ``version``) are the server's.
        """
        with self._tx() as db:
            state = self._load(db, dataset_id)
            if state.processing_status != "files_getting_labelled":
                raise bad_request(
                    "Labels can be set only once the dataset is processed (files_getting_labelled)."
                )
            files = {
                r["file_id"]: r for r in db.execute("SELECT * FROM files WHERE dataset_id = ?", (dataset_id,))
            }
            for index, label in enumerate(labels):
                file_id = replace_file if replace_file is not None else label.get("file_id")
                if file_id not in files:
                    raise bad_request(f"labels[{index}].file_id {file_id!r} is not a file of this dataset.")
            existing = {
                (r["file_id"], r["label_id"]): json.loads(r["doc"])
                for r in db.execute(
                    "SELECT file_id, label_id, doc FROM labels WHERE dataset_id = ? AND label_set_id = ?",
                    (dataset_id, label_set_id),
                )
            }
            given = [str(label["label_id"]) for label in labels if label.get("label_id")]
            counters = _label_counters([lid for _, lid in existing] + given)
            if replace_file is not None:
                db.execute(
                    "DELETE FROM labels WHERE dataset_id = ? AND label_set_id = ? AND file_id = ?",
                    (dataset_id, label_set_id, replace_file),
                )
            stored = []
            stamp = now_ms()
            for label in labels:
                file_id = replace_file if replace_file is not None else str(label["file_id"])
                label_id = label.get("label_id") or _next_label_id(counters, label["label_category_id"])
                before = existing.get((file_id, label_id), {})
                stage_index = min(files[file_id]["stage_index"], len(state.stages) - 1)
                doc = {
                    **label,
                    "file_id": file_id,
                    "label_id": label_id,
                    "attributes": label.get("attributes", {}),
                    "attributes_source": label.get("attributes_source")
                    if isinstance(label.get("attributes_source"), dict)
                    else {},
                    "dataset_id": dataset_id,
                    "label_set_id": label_set_id,
                    "stage_id": state.stages[stage_index],
                    "labeller_email": label.get("labeller_email") or labeller,
                    "user_id": label.get("user_id") or labeller,
                    "create_time_millis": before.get("create_time_millis", stamp),
                    "update_time_millis": stamp,
                    "version": int(before.get("version", 0)) + 1,
                }
                db.execute(
                    "INSERT INTO labels (dataset_id, label_set_id, file_id, label_id, doc) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (dataset_id, label_set_id, file_id, label_id) DO UPDATE SET doc = excluded.doc",
                    (dataset_id, label_set_id, file_id, label_id, json.dumps(doc)),
                )
                stored.append(doc)
            return stored

    def labels(
        self, dataset_id: str, label_set_id: str, *, file_id: str | None = None
    ) -> tuple[DatasetState, list[FileRow], list[dict[str, Any]]]:
        """The dataset's files and its labels in ``label_set_id`` (of one file when given)."""
        with self._tx() as db:
            state = self._load(db, dataset_id)
            file_rows = db.execute(
                "SELECT * FROM files WHERE dataset_id = ? ORDER BY position", (dataset_id,)
            ).fetchall()
            files = [file_of(r, state.client_id) for r in file_rows]
            if file_id is not None and file_id not in {f.file_id for f in files}:
                raise not_found()
            sql = "SELECT doc FROM labels WHERE dataset_id = ? AND label_set_id = ?"
            params: tuple[str, ...] = (dataset_id, label_set_id)
            if file_id is not None:
                sql, params = sql + " AND file_id = ?", (*params, file_id)
            docs = [json.loads(r["doc"]) for r in db.execute(sql + " ORDER BY seq", params)]
        return state, files, docs

    def mark_labelling_done(self, dataset_id: str) -> DatasetState:
        """Force completion: every file passes every stage."""
        return self.move_files(dataset_id, "complete", None, None)


def _next(action: str, index: int, stage_count: int) -> tuple[int, str]:
    if action == "start":
        return index, "in_progress"
    if action == "submit":
        return index + 1, "ready" if index + 1 < stage_count else "done"
    if action == "fail":
        return index, "failed"
    if action == "reject":
        return max(index - 1, 0), "ready"
    if action == "complete":
        return stage_count, "done"
    raise bad_request(f"Unknown action {action!r}; use start, submit, fail, reject or complete.")


def _label_counters(label_ids: list[str]) -> dict[str, int]:
    counters: dict[str, int] = {}
    for label_id in label_ids:
        match = re.fullmatch(r"(.*):\s*(\d+)", label_id)
        if match:
            counters[match[1]] = max(counters.get(match[1], 0), int(match[2]))
    return counters


def _next_label_id(counters: dict[str, int], category: str) -> str:
    counters[category] = counters.get(category, 0) + 1
    return f"{category}:{counters[category]}"
