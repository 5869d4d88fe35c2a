"""Label Studio's apply session (:class:`~labelsync.providers.session.Session`).

The engine (:mod:`labelsync.engine.apply`) drives it:

* :meth:`~LabelStudioSession.open`: find the project (by the plan's project id, else by
  title) and check it is labelsync's and still the plan's base (the stale check), or create
  it; read every task's key, data and predictions (a re-run after an interruption sees what
  the interrupted run did, so nothing is imported twice); remove the recorded digest (the
  project is being written);
* :meth:`~LabelStudioSession.put`: a catalog change becomes the label config, after
  ``/validate/`` accepted it (PATCH ``label_config``); other metadata is nothing to write;
* :meth:`~LabelStudioSession.transfer`: upload the content of new and changed files that
  the project does not hold yet (the engine hands each distinct content once), in requests
  of at most 100 files and 250 MB, one field name per file, several requests at a time; mask
  files are not stored (they become the predictions' brush results at register);
* :meth:`~LabelStudioSession.register`: import the new tasks with their predictions (once per
  request: an import is never repeated blindly, and after a failed register no other starts),
  PATCH tasks whose content changed, and replace labelsync's predictions whose label changed;
* :meth:`~LabelStudioSession.delete`: prune tasks, collected and sent at commit (one bulk
  action per 1,000);
* :meth:`~LabelStudioSession.commit`: record the desired digest and the project's counters
  in its description; the revision is the project id;
* :meth:`~LabelStudioSession.close`: nothing to release.

A project labelsync adopted (``labelsync import``; the plan's remote id is
``adopted:<id>``) is written with its own names (:mod:`.adopted`): it may carry no marker
yet (its first apply adds one, below the people's description), but never another
dataset's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import PurePosixPath
from typing import Any

from labelsync.errors import ApplyError, ConflictError, NotFoundError
from labelsync.plan.model import Action, BlobTransfer, Change, DatasetPlan, FileChange, Kind
from labelsync.providers.labelstudio import adopted as A
from labelsync.providers.labelstudio import live as L
from labelsync.providers.labelstudio import wire
from labelsync.providers.labelstudio.client import LabelStudioClient, UploadFile, upload_batches
from labelsync.providers.labelstudio.config import label_config
from labelsync.providers.labelstudio.project import (
    MARKER,
    State,
    counters,
    describe,
    describe_keeping,
    marked_for,
    read_state,
    title_for,
)
from labelsync.providers.session import (
    ApplyEvents,
    ApplyOptions,
    Opened,
    TransferReport,
    provider_options,
    stale_plan,
)

IMPORT_BATCH = 500
"""Tasks (or predictions) per import request."""
DELETE_BATCH = 1000
UPLOAD_STREAMS = 4
"""Upload requests in flight at once (each up to 100 files)."""


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Uploads:
    """The running :class:`~labelsync.providers.session.Transfer` of one segment: upload
    requests on a small pool, each stored file reported (and its ``data.image`` noted)."""

    def __init__(self, session: LabelStudioSession, batches: list[list[tuple[str, UploadFile]]], report: TransferReport) -> None:
        self.session = session
        self.report = report
        self._stopped = threading.Event()
        pool = ThreadPoolExecutor(max_workers=session.streams, thread_name_prefix="ls-upload")
        self._futures: list[Future[None]] = [pool.submit(self._send, batch) for batch in batches]
        pool.shutdown(wait=False)

    def _send(self, batch: list[tuple[str, UploadFile]]) -> None:
        if self._stopped.is_set():
            return
        project = self.session.project
        assert project is not None
        try:
            uploads = self.session.client.upload_files(project.id, [f for _, f in batch])
        except BaseException as exc:  # reported to the engine, which raises the first one
            for checksum, _ in batch:
                self.report.stored(checksum, exc)
            return
        for (checksum, file), upload in zip(batch, uploads, strict=True):
            self.session.images[checksum] = "/data/" + upload.file
            self.report.sent(file.size)
            self.report.stored(checksum)

    def done(self) -> bool:
        return all(f.done() for f in self._futures)

    def tick(self) -> None:
        pass

    def stop(self) -> None:
        self._stopped.set()
        for f in self._futures:
            f.cancel()

    def wait(self) -> None:
        for f in self._futures:
            if not f.cancelled():
                f.exception()


class LabelStudioSession:
    """One apply of one dataset plan (see the module docstring)."""

    reuses_content = True
    """Content the project holds (a task's ``data.image`` with its sha1) is not sent again."""

    def __init__(
        self, client: LabelStudioClient, plan: DatasetPlan, options: ApplyOptions, events: ApplyEvents, *, jobs: int = 4
    ) -> None:
        provider_options(options, "labelstudio", {})
        self.client = client
        self.plan = plan
        self.options = options
        self.events = events
        self.streams = max(1, min(jobs, UPLOAD_STREAMS))
        self.project: wire.Project | None = None
        self.catalog: dict[str, Any] = {}
        self.controls: A.Controls | None = None
        """The project's own names, when labelsync adopted it (``spec.labelstudio.adopted``)."""
        self.tasks: dict[L.Key, wire.Task] = {}
        self.all_tasks: list[wire.Task] = []
        self.images: dict[str, str] = {}
        """content sha1 -> ``data.image`` of a stored file holding it."""
        self.messages: list[str] = []
        self._register_lock = threading.Lock()
        self._register_failed = False
        self._gone: list[int] = []
        self._gone_lock = threading.Lock()

    # ------------------------------------------------------------------ steps

    def open(self) -> Opened:
        plan = self.plan
        self.events.phase(plan.name, "project")
        changes = {c.kind: c for c in plan.changes if c.kind in (Kind.DATASET, Kind.CATALOG)}
        catalog_change = changes.get(Kind.CATALOG)
        adopted = plan.remote_id is not None and plan.remote_id.startswith(A.ADOPTED + ":")
        if plan.remote_id is not None:
            try:
                project = self.client.get_project(int(plan.remote_id.rpartition(":")[2]))
            except NotFoundError:
                raise stale_plan(plan, None) from None
            if not marked_for(project.description, plan.name) and not (adopted and MARKER not in (project.description or "")):
                raise stale_plan(plan, None)
            if plan.base is not None and str(project.id) != plan.base:
                raise stale_plan(plan, str(project.id))
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
            if found is not None:  # made since the plan (by another apply, or an interrupted one)
                raise stale_plan(plan, str(found.id))
            catalog = dict(catalog_change.after or {}) if catalog_change else {}
            project = self.client.create_project(title, label_config(catalog), description=describe(plan.name, State(catalog)))
        state = read_state(project.description) or State()
        self.project = project
        self.catalog = dict(state.catalog)
        self.all_tasks = list(self.client.iter_tasks(project.id, fields="all", include="id,data,predictions"))
        self.tasks = L.by_key(self.all_tasks)
        if adopted:
            self.controls = A.read_config(project.label_config, where=f"Label Studio project {project.id}")
            self.catalog = dict(self.controls.catalog)
            self.tasks = A.keys(self.all_tasks, self.controls)[0]
        for task in self.tasks.values():
            blob, image = L.blob_of(task), task.data.get("image")
            if blob is not None and isinstance(image, str):
                self.images.setdefault(blob.checksum, image)
        if state.digest is not None:
            self.client.update_project(project.id, description=self._describe(state.dirty(), project))
        return Opened()

    def _describe(self, state: State, project: wire.Project) -> str:
        """The description recording ``state`` (an adopted project keeps its people's text)."""
        if self.controls is None:
            return describe(self.plan.name, state)
        return describe_keeping(self.plan.name, state, project.description)

    def put(self, change: Change) -> str | None:
        if change.kind is not Kind.CATALOG:
            return None  # settings, notes, segments and sensors are nothing Label Studio stores
        assert self.project is not None
        catalog = dict(change.after or {})
        if self.controls is not None:
            raise ApplyError(f"'{self.plan.name}': the label config of an adopted project is its own; labelsync does not rewrite it",
                             hint="change the config in Label Studio, or the manifest's catalog back")
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
        return None

    def transfer(self, segment: str, files: Sequence[FileChange], blobs: Sequence[BlobTransfer], report: TransferReport) -> _Uploads:
        names: dict[str, str] = {}
        for f in files:
            names.setdefault(f.blob.checksum, PurePosixPath(f.remote_path).name)
        wanted: list[tuple[str, UploadFile]] = []
        for blob in blobs:
            if blob.checksum not in names or blob.checksum in self.images:
                report.stored(blob.checksum, sent=False)  # a mask (sent inside the results), or held already
            elif not blob.source:
                report.stored(blob.checksum, ApplyError(f"{names[blob.checksum]}: the plan names no local file to upload"))
            else:
                wanted.append((blob.checksum, UploadFile(names[blob.checksum], self.options.root / blob.source, blob.size)))
        order = {id(f): checksum for checksum, f in wanted}
        batches = [[(order[id(f)], f) for f in batch] for batch in upload_batches([f for _, f in wanted])] if wanted else []
        return _Uploads(self, batches, report)

    def register_batch(self, segment: str, labels: bool) -> int:
        return IMPORT_BATCH

    def _results(self, f: FileChange, where: str) -> list[dict[str, Any]]:
        mask = next((m for m in f.masks if m.kind == L.MASK), None)
        results = L.results_for(
            f.label or {},
            self.catalog,
            self.options.root / (f.source or ""),
            self.options.root / mask.source if mask is not None and mask.source else None,
            where=where,
        )
        return results if self.controls is None else A.outgoing(results, self.controls)

    def register(self, segment: str, changes: Sequence[Change]) -> None:
        """One call at a time (imports are not repeated blindly); none after one failed."""
        with self._register_lock:
            if self._register_failed:
                raise ApplyError(f"'{self.plan.name}': an earlier import failed", hint="run apply again: it resumes")
            try:
                self._register(changes)
            except BaseException:
                self._register_failed = True
                raise

    def _register(self, changes: Sequence[Change]) -> None:
        assert self.project is not None
        project_id = self.project.id
        new: list[dict[str, Any]] = []
        relabel: list[tuple[wire.Task, list[dict[str, Any]]]] = []
        for change in changes:
            f, segment = change.after, change.segment or L.DEFAULT_SEGMENT
            assert isinstance(f, FileChange)
            key = (segment, f.remote_path)
            results = self._results(f, f"{segment}/{f.remote_path}")
            task = self.tasks.get(key)
            if change.kind is Kind.LABEL:
                if task is None:
                    raise stale_plan(self.plan, str(project_id))
                relabel.append((task, results))
                continue
            image = self.images.get(f.blob.checksum)
            if image is None:
                raise ApplyError(f"{change.address}: the project holds no file with its content", hint="run `labelsync plan` again")
            data = L.task_data(image, segment, f.remote_path, f.blob.checksum, f.blob.size)
            if self.controls is not None:
                data[self.controls.image_key] = image  # where the project's config shows it
            if task is None:
                entry: dict[str, Any] = {"data": data}
                if results:
                    entry["predictions"] = [{"model_version": L.MODEL_VERSION, "result": results}]
                new.append(entry)
                continue
            if {**task.data, **data} != task.data:
                self.client.update_task(task.id, {**task.data, **data})  # other data fields stay
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

    def delete(self, change: Change) -> None:
        """Collects the tasks of a file or segment deletion; :meth:`commit` deletes them in bulk."""
        if change.action is not Action.DELETE or change.kind not in (Kind.FILE, Kind.SEGMENT):
            return  # sensors are nothing Label Studio stores
        segment = change.segment or L.DEFAULT_SEGMENT
        path = change.before.remote_path if change.kind is Kind.FILE else None
        ids = []
        theirs = {t.id: k for k, t in self.tasks.items()}
        for task in self.all_tasks:
            key = L.key_of(task) or theirs.get(task.id)
            if key is not None and key[0] == segment and (path is None or key[1] == path):
                ids.append(task.id)
        with self._gone_lock:
            self._gone.extend(ids)

    def commit(self, message: str, source: Mapping[str, str]) -> str | None:
        assert self.project is not None
        if self._gone:
            self.events.phase(self.plan.name, "delete")
            for chunk in _chunks(sorted(set(self._gone)), DELETE_BATCH):
                self.client.delete_tasks(self.project.id, list(chunk))
        project = self.client.get_project(self.project.id)
        tasks, predictions, annotations = counters(project)
        state = State(self.catalog, self.plan.desired_digest, tasks, predictions, annotations)
        self.client.update_project(project.id, description=self._describe(state, project))
        return str(project.id)

    def close(self, error: BaseException | None) -> BaseException | None:
        """Nothing to release: the provider owns the client."""
        return None
