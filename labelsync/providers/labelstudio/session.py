"""Apply one dataset's plan to Label Studio, in the steps of the apply session protocol.

:meth:`LabelStudioSession.run` calls, in order:

* :meth:`~LabelStudioSession.open`: find the project (by the plan's project id, else by
  title) and check it is labelsync's and still the plan's base, or create it; read every
  task's key, data and predictions (a re-run after an interruption sees what the interrupted
  run did, so nothing is imported twice); remove the recorded digest (the project is being
  written);
* :meth:`~LabelStudioSession.put`: a catalog change becomes the label config, after
  ``/validate/`` accepted it (PATCH ``label_config``);
* :meth:`~LabelStudioSession.transfer`: upload the content of new and changed files that
  the project does not hold yet, each distinct content once, in requests of at most 100 files
  and 250 MB, one field name per file, several requests at a time;
* :meth:`~LabelStudioSession.register`: import the new tasks with their predictions (once per
  request: an import is never repeated blindly), PATCH tasks whose content changed, and
  replace labelsync's predictions whose label changed (no bytes);
* :meth:`~LabelStudioSession.delete`: prune tasks (one bulk action per 1,000);
* :meth:`~LabelStudioSession.commit`: record the desired digest and the project's counters
  in its description;
* :meth:`~LabelStudioSession.close`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath
from typing import Any

from labelsync.engine.events import ApplyEvents
from labelsync.errors import ApplyError, ConflictError
from labelsync.plan.model import Action, Change, DatasetPlan, Kind
from labelsync.providers.base import ApplyOptions, ApplyResult, stale_plan
from labelsync.providers.labelstudio import live as L
from labelsync.providers.labelstudio import wire
from labelsync.providers.labelstudio.client import LabelStudioClient, UploadFile, upload_batches
from labelsync.providers.labelstudio.config import label_config
from labelsync.providers.labelstudio.project import (
    State,
    counters,
    describe,
    marked_for,
    read_state,
    title_for,
)

IMPORT_BATCH = 500
"""Tasks (or predictions) per import request."""
DELETE_BATCH = 1000
UPLOAD_STREAMS = 4
"""Upload requests in flight at once (each up to 100 files)."""


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class LabelStudioSession:
    """One apply of one dataset plan (see the module docstring)."""

    def __init__(
        self, client: LabelStudioClient, plan: DatasetPlan, options: ApplyOptions, events: ApplyEvents, *, jobs: int = 4
    ) -> None:
        self.client = client
        self.plan = plan
        self.options = options
        self.events = events
        self.streams = max(1, min(jobs, UPLOAD_STREAMS))
        self.project: wire.Project | None = None
        self.catalog: dict[str, Any] = {}
        self.tasks: dict[L.Key, wire.Task] = {}
        self.all_tasks: list[wire.Task] = []
        self.images: dict[str, str] = {}
        """content sha1 -> ``data.image`` of a stored file holding it."""
        self.files_uploaded = 0
        self.bytes_uploaded = 0
        self.registered = 0
        self.resumed = False
        self.messages: list[str] = []

    # ------------------------------------------------------------------ steps

    def run(self) -> ApplyResult:
        try:
            self.open()
            self.put()
            self.transfer()
            self.register()
            self.delete()
            return self.commit()
        finally:
            self.close()

    def open(self) -> None:
        plan = self.plan
        self.events.phase(plan.name, "project")
        changes = {c.kind: c for c in plan.changes if c.kind in (Kind.DATASET, Kind.CATALOG)}
        catalog_change = changes.get(Kind.CATALOG)
        if plan.remote_id is not None:
            project = self.client.get_project(int(plan.remote_id))
            if not marked_for(project.description, plan.name):
                raise stale_plan(plan, None)
        else:
            create = changes.get(Kind.DATASET)
            settings = ((create.after or {}).get("settings") or {}) if create else {}
            title = title_for(plan.name, settings.get("title"))
            found = self.client.find_project(title)
            if found is not None and not marked_for(found.description, plan.name):
                raise ConflictError(
                    f"Label Studio project {found.id} is titled {title!r} but labelsync did not make it for dataset '{plan.name}'",
                    hint="rename that project in Label Studio, or give the dataset another title (spec.labelstudio.title)",
                )
            if found is not None:
                project = found
                self.resumed = True
                self.messages.append(f"project {found.id} exists already (an earlier apply stopped): continuing it")
            else:
                catalog = dict(catalog_change.after or {}) if catalog_change else {}
                project = self.client.create_project(title, label_config(catalog), description=describe(plan.name, State(catalog)))
        state = read_state(project.description) or State()
        self.project = project
        self.catalog = dict(state.catalog)
        self.all_tasks = list(self.client.iter_tasks(project.id, fields="all", include="id,data,predictions"))
        self.tasks = L.by_key(self.all_tasks)
        for task in self.tasks.values():
            blob, image = L.blob_of(task), task.data.get("image")
            if blob is not None and isinstance(image, str):
                self.images.setdefault(blob.checksum, image)
        if state.digest is not None:
            self.client.update_project(project.id, description=describe(plan.name, state.dirty()))

    def put(self) -> None:
        change = next((c for c in self.plan.changes if c.kind is Kind.CATALOG), None)
        if change is None:
            return
        assert self.project is not None
        self.events.phase(self.plan.name, "catalog")
        catalog = dict(change.after or {})
        xml = label_config(catalog)
        if xml != self.project.label_config:
            refusals = self.client.validate_config(xml, self.project.id)
            if refusals:
                raise ApplyError(
                    f"Label Studio refuses the new label config of '{self.plan.name}': {'; '.join(refusals)}",
                    hint="annotations made since the plan use what it removes: run `labelsync plan` again",
                )
            self.client.update_project(self.project.id, label_config=xml, description=describe(self.plan.name, State(catalog)))
        self.catalog = catalog

    def _file_changes(self) -> list[Change]:
        return [c for c in self.plan.changes if c.kind is Kind.FILE and c.action is not Action.DELETE]

    def transfer(self) -> None:
        assert self.project is not None
        wanted: dict[str, UploadFile] = {}
        for change in self._file_changes():
            after = change.after
            checksum = after["checksum"]
            if checksum in self.images or checksum in wanted:
                continue
            if not after.get("source"):
                raise ApplyError(f"{change.address}: the plan names no local file to upload")
            name = PurePosixPath(after["remotePath"]).name
            wanted[checksum] = UploadFile(name, self.options.root / after["source"], int(after["fileSize"]))
        if not wanted:
            return
        self.events.phase(self.plan.name, "files")
        checksums = list(wanted)
        order = {id(f): c for c, f in wanted.items()}
        batches = upload_batches([wanted[c] for c in checksums])
        self.events.files_planned(len(checksums), sum(f.size for f in wanted.values()))

        def send(batch: list[UploadFile]) -> list[tuple[UploadFile, wire.FileUpload]]:
            assert self.project is not None
            uploads = self.client.upload_files(self.project.id, batch)
            return list(zip(batch, uploads, strict=True))

        with ThreadPoolExecutor(max_workers=self.streams, thread_name_prefix="ls-upload") as pool:
            for done in pool.map(send, batches):
                for file, upload in done:
                    self.images[order[id(file)]] = "/data/" + upload.file
                    self.files_uploaded += 1
                    self.bytes_uploaded += file.size
                    self.events.bytes_sent(file.size)
                    self.events.file_done(file.name, file.size, True)

    def _results(self, after: dict[str, Any], where: str) -> list[dict[str, Any]]:
        mask = (after.get("masks") or {}).get(L.MASK) or {}
        return L.results_for(
            after.get("label") or {},
            self.catalog,
            self.options.root / after["source"],
            self.options.root / mask["source"] if mask.get("source") else None,
            where=where,
        )

    def register(self) -> None:
        assert self.project is not None
        project_id = self.project.id
        new: list[dict[str, Any]] = []
        relabel: list[tuple[wire.Task, list[dict[str, Any]]]] = []
        changed = [c for c in self.plan.changes if c.kind is Kind.LABEL] + self._file_changes()
        if not changed:
            return
        self.events.phase(self.plan.name, "labels")
        for change in changed:
            after, segment = change.after, change.segment or L.DEFAULT_SEGMENT
            key = (segment, after["remotePath"])
            results = self._results(after, f"{segment}/{after['remotePath']}")
            task = self.tasks.get(key)
            if change.kind is Kind.LABEL:
                if task is None:
                    raise stale_plan(self.plan, str(project_id))
                relabel.append((task, results))
                continue
            image = self.images.get(after["checksum"])
            if image is None:
                raise ApplyError(f"{change.address}: the project holds no file with its content", hint="run `labelsync plan` again")
            data = L.task_data(image, segment, after["remotePath"], after["checksum"], int(after["fileSize"]))
            self.registered += 1
            if task is None:
                entry: dict[str, Any] = {"data": data}
                if results:
                    entry["predictions"] = [{"model_version": L.MODEL_VERSION, "result": results}]
                new.append(entry)
                continue
            if task.data != data:
                self.client.update_task(task.id, data)
            relabel.append((task, results))
        for chunk in _chunks(new, IMPORT_BATCH):
            self.client.import_tasks(project_id, list(chunk))
        fresh: list[dict[str, Any]] = []
        for task, results in relabel:
            ours = L.our_predictions(task)
            keep = ours[0] if ours and results else None
            if keep is not None and keep.result != results:
                self.client.update_prediction(keep.id, result=results)
            if results and keep is None:
                fresh.append({"task": task.id, "result": results, "model_version": L.MODEL_VERSION})
            for extra in ours:
                if extra is not keep:
                    self.client.delete_prediction(extra.id)
        for chunk in _chunks(fresh, IMPORT_BATCH):
            self.client.import_predictions(project_id, list(chunk))

    def delete(self) -> None:
        assert self.project is not None
        gone_files = {
            (c.segment or L.DEFAULT_SEGMENT, str((c.before or {}).get("remotePath")))
            for c in self.plan.changes
            if c.kind is Kind.FILE and c.action is Action.DELETE
        }
        gone_segments = {c.segment for c in self.plan.changes if c.kind is Kind.SEGMENT and c.action is Action.DELETE}
        if not gone_files and not gone_segments:
            return
        self.events.phase(self.plan.name, "delete")
        ids = []
        for task in self.all_tasks:
            key = L.key_of(task)
            if key is not None and (key in gone_files or key[0] in gone_segments):
                ids.append(task.id)
        for chunk in _chunks(ids, DELETE_BATCH):
            self.client.delete_tasks(self.project.id, list(chunk))

    def commit(self) -> ApplyResult:
        assert self.project is not None
        self.events.phase(self.plan.name, "commit")
        project = self.client.get_project(self.project.id)
        tasks, predictions, annotations = counters(project)
        state = State(self.catalog, self.plan.desired_digest, tasks, predictions, annotations)
        self.client.update_project(project.id, description=describe(self.plan.name, state))
        return ApplyResult(
            name=self.plan.name,
            revision=str(project.id),
            files_uploaded=self.files_uploaded,
            bytes_uploaded=self.bytes_uploaded,
            files_registered=self.registered,
            changes_applied=len(self.plan.changes),
            resumed=self.resumed,
            messages=tuple(self.messages),
        )

    def close(self) -> None:
        """Nothing to release: the provider owns the client (kept for the session protocol)."""

