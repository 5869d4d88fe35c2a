"""Deepen's apply session: a dataset takes no new files and no new profile after creation.

So a plan is one of (``design.md`` "Apply (deepen)"):

* **labels only** (``label`` updates): ``register`` imports the changed items' labels as
  pre-labels (``POST /datasets/{id}/labels``; the import upserts by ``label_id``);
* **create**: ``transfer`` zips the data deterministically, saves the labelling profile,
  creates the dataset (profile, one zip file, the bookkeeping tags), uploads the zip over
  the resumable session and starts processing; ``register`` waits for processing (option
  ``timeout``, unless ``wait`` is false) and imports the labels;
* **replace** (only planned with ``allowReplace``): the same create, then ``commit``
  deletes the old dataset (only then: a failed upload or processing never loses the old
  dataset's labelling).

``open`` makes the one stale check (the dataset found by name must be the plan's base) and
finds labelsync's own unfinished create of this plan (its digest tag is the plan's digest):
the upload then continues from the offset the server persisted. Deepen has no lock.

Apply options (``ApplyOptions.provider_options``): ``wait`` (bool, default true) and
``timeout`` (seconds, default 600).
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labelsync.errors import ApplyError, LocalDataError, NotFoundError, StalePlanError
from labelsync.plan.model import Action, BlobTransfer, Change, DatasetPlan, FileChange, Kind, Replacement
from labelsync.providers.deepen.client import DeepenClient, upload_file_name
from labelsync.providers.deepen.convert import (
    DIGEST_TAG,
    content_digest_of,
    create_body,
    file_id_for,
    profile_for,
    read_tag,
)
from labelsync.providers.deepen.labels import (
    to_deepen,
)
from labelsync.providers.deepen.layout import content_problems
from labelsync.providers.deepen.upload import DEFAULT_CHUNK, ResumableUpload
from labelsync.providers.deepen.zipper import write_zip
from labelsync.providers.session import (
    ApplyEvents,
    ApplyOptions,
    Finished,
    Opened,
    TransferReport,
    provider_options,
    stale_plan,
)

LABEL_BATCH = 500
UNPROCESSED = ("files_to_be_uploaded", "files_uploaded")
OPTIONS: Mapping[str, tuple[type, ...]] = {"wait": (bool,), "timeout": (int, float)}
ALL_AT_ONCE = 1 << 30


@dataclass(frozen=True)
class Blueprint:
    """Everything a create needs: settings, catalog and every data item with its source."""

    name: str
    settings: Mapping[str, Any]
    catalog: Mapping[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)
    """``{"remotePath", "checksum", "fileSize", "source" (absolute), "label"}`` per data file."""

    @property
    def dataset_type(self) -> str:
        return str(self.settings.get("dataset_type") or "images")

    @property
    def dataset_format(self) -> str | None:
        fmt = self.settings.get("dataset_format")
        return str(fmt) if fmt else None


def blueprint_from_plan(plan: DatasetPlan, root: Path) -> Blueprint | None:
    """The create blueprint a ``create`` plan carries (``None`` when the plan has no create)."""
    create = next((c for c in plan.changes if c.kind is Kind.DATASET and c.action is Action.CREATE), None)
    if create is None:
        return None
    catalog = next((c.after for c in plan.changes if c.kind is Kind.CATALOG), None) or {}
    items = [_item(c.after, root) for c in plan.changes if c.kind is Kind.FILE and c.action is not Action.DELETE]
    return Blueprint(plan.name, dict((create.after or {}).get("settings") or {}), catalog, items)


def blueprint_from_replace(plan: DatasetPlan, root: Path) -> Blueprint | None:
    """The blueprint a ``replace`` carries (the whole new dataset), or ``None`` without one."""
    change = next((c for c in plan.changes if c.kind is Kind.DATASET and c.action is Action.REPLACE), None)
    after = change.after if change else None
    if not isinstance(after, Replacement):
        return None
    items = [_item(a, root) for a in after.items]
    return Blueprint(plan.name, dict(after.settings), dict(after.catalog), items)


def _item(f: FileChange, root: Path) -> dict[str, Any]:
    return {
        "remotePath": f.remote_path, "checksum": f.blob.checksum, "fileSize": f.blob.size, "label": f.label,
        "source": str(root / f.source) if f.source else None,
    }


class DeepenSession:
    """A :class:`~labelsync.providers.session.Session` for one Deepen dataset plan."""

    reuses_content = False

    def __init__(
        self,
        client: DeepenClient,
        plan: DatasetPlan,
        options: ApplyOptions,
        events: ApplyEvents,
        *,
        current: Callable[[], str | None],
        chunk: int = DEFAULT_CHUNK,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        chosen = provider_options(options, "Deepen", OPTIONS)
        self.wait = bool(chosen.get("wait", True))
        self.timeout = float(chosen.get("timeout", 600.0))
        self.client = client
        self.plan = plan
        self.options = options
        self.events = events
        self.current = current
        self.chunk = chunk
        self.sleep = sleep
        self.messages: list[str] = []
        self.blueprint: Blueprint | None = None
        self.dataset_id: str | None = None
        self.old_id: str | None = None
        self._existing_create: tuple[str, dict[str, Any]] | None = None
        self._ready: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def open(self) -> Opened:
        plan = self.plan
        labels_only = {c.kind for c in plan.changes} <= {Kind.LABEL}
        if labels_only:
            self.dataset_id = plan.remote_id or plan.base
            if not self.dataset_id:
                raise StalePlanError(f"dataset '{plan.name}' has no remote id in the plan", hint="run plan again")
        elif any(c.kind is Kind.DATASET and c.action is Action.REPLACE for c in plan.changes):
            self.blueprint = blueprint_from_replace(plan, self.options.root)
            if self.blueprint is None:
                raise ApplyError(f"dataset '{plan.name}': the replace in this plan lists no files", hint="run plan again")
            self.old_id = plan.remote_id or plan.base
        else:
            self.blueprint = blueprint_from_plan(plan, self.options.root)
            if self.blueprint is None:
                raise ApplyError(f"dataset '{plan.name}': the plan has changes Deepen cannot apply in place", hint="run plan again")
        current = self.current()  # the one stale check
        if current != plan.base:
            raise stale_plan(plan, current)
        if self.blueprint is None:
            return Opened()
        self._check_content(self.blueprint)
        self._existing_create = self._existing()
        if self._existing_create is None:
            return Opened()
        dataset_id = self._existing_create[0]
        self.events.message(f"{plan.name}: resuming labelsync's unfinished create of dataset {dataset_id}")
        return Opened(resumed=True, messages=(f"resumed the unfinished create of {dataset_id}",))

    def put(self, change: Change) -> str | None:
        return None  # settings, catalog and sensors are part of the create (the blueprint)

    def register_batch(self, segment: str, labels: bool) -> int:
        return ALL_AT_ONCE

    def transfer(self, segment: str, files: Sequence[FileChange], blobs: Sequence[BlobTransfer], report: TransferReport) -> Finished:
        assert self.blueprint is not None, "a labels-only plan transfers nothing"
        sent = self._create(self.blueprint, report)
        for blob in blobs:
            report.stored(blob.checksum, None, sent=sent)
        return Finished()

    def register(self, segment: str, changes: Sequence[Change]) -> None:
        with self._lock:
            if not self.wait:
                note = "not waiting for processing; labels are not imported (run apply again later)"
                if note not in self.messages:
                    self.messages.append(note)
                return
            assert self.dataset_id is not None
            if self.blueprint is None:
                self._import_changed_labels(self.dataset_id, changes)
                return
            if self._ready is None:
                self._ready = self._wait(self.dataset_id)
            bp = self.blueprint
            pairs = [(c.after.remote_path, c.after.label) for c in changes if c.after.label and c.after.source]
            if pairs:
                self._import(self.dataset_id, bp.dataset_type, bp.dataset_format, pairs)

    def delete(self, change: Change) -> None:
        raise ApplyError(f"dataset '{self.plan.name}': Deepen cannot delete {change.address} in place", hint="run plan again")

    def commit(self, message: str, source: Mapping[str, str]) -> str | None:
        if self.old_id and self.old_id != self.dataset_id:
            self._delete(self.old_id)
        return self.dataset_id

    def close(self, error: BaseException | None) -> BaseException | None:
        return None  # no lock to release

    # ------------------------------------------------------------------ steps

    def _delete(self, dataset_id: str | None) -> None:
        if not dataset_id:
            return
        self.events.phase(self.plan.name, "delete")
        try:
            self.client.delete_dataset(dataset_id)
        except NotFoundError:
            pass  # gone already (an interrupted replace)

    def _existing(self) -> tuple[str, dict[str, Any]] | None:
        """labelsync's own unfinished create of this plan, if an earlier apply left one."""
        for dataset_id in self.client.find_datasets(self.plan.name):
            resource = self.client.get_dataset(dataset_id)
            if read_tag(resource.get("tags") or [], DIGEST_TAG) == self.plan.desired_digest:
                return dataset_id, resource
            if dataset_id == self.plan.remote_id and resource.get("processing_status") == "files_to_be_uploaded":
                # labelsync's own unfinished create of older data: never processed, replace it
                self.events.message(f"{self.plan.name}: deleting the unfinished create {dataset_id} of older data")
                self._delete(dataset_id)
                continue
            if self.plan.base is None:
                raise StalePlanError(
                    f"dataset '{self.plan.name}' was created on Deepen since the plan was made",
                    hint="run plan again",
                )
        return None

    def _check_content(self, bp: Blueprint) -> None:
        """Refuse, before anything is written, content Deepen's processing would reject."""
        name = self.plan.name
        items = [i for i in bp.items if i.get("source")]
        if not items:
            raise ApplyError(f"dataset '{name}' has no data files: a Deepen dataset needs its data at creation")
        if bp.dataset_type == "video" and len(items) != 1:
            raise ApplyError(f"dataset '{name}': a video dataset takes exactly one mp4 file, not {len(items)}")
        problems = content_problems(
            [(i["remotePath"], Path(i["source"])) for i in items],
            dataset_type=bp.dataset_type,
            dataset_format=bp.dataset_format,
        )
        if problems:  # processing would reject it: create nothing
            where = f"{problems[0].file}: " if problems[0].file else ""
            raise LocalDataError(
                f"dataset '{name}': {where}{problems[0].message}; Deepen's processing would reject it, so no dataset was created",
                hint=problems[0].hint,
            )

    def _create(self, bp: Blueprint, report: TransferReport) -> bool:
        """Zip, create (or resume) the dataset, upload and start processing; True when bytes were sent."""
        name = self.plan.name
        items = [i for i in bp.items if i.get("source")]
        sent = False
        with tempfile.TemporaryDirectory(prefix="labelsync-deepen-") as tmp:
            if bp.dataset_type == "video":
                upload_path, size = Path(items[0]["source"]), int(items[0]["fileSize"])
            else:
                self.events.phase(name, "zip")
                zipped = write_zip([(i["remotePath"], i["source"]) for i in items], Path(tmp) / "data.zip")
                upload_path, size = zipped.path, zipped.size
            if self._existing_create is not None:
                dataset_id, resource = self._existing_create
            else:
                self.events.phase(name, "create")
                profile = profile_for(bp.catalog, bp.settings)
                profile_id = self.client.create_profile({**profile, "profile_name": f"labelsync {name}"})
                content = content_digest_of((i["remotePath"], i["checksum"], int(i["fileSize"])) for i in items)
                body = create_body(name, bp.settings, bp.catalog, file_size=size, digest=self.plan.desired_digest, content=content, profile_id=profile_id)
                resource = self.client.create_dataset(body)
                dataset_id = str(resource["dataset_id"])
            self.dataset_id = dataset_id
            if resource.get("processing_status", "files_to_be_uploaded") == "files_to_be_uploaded":
                sent = self._upload(resource, upload_path, size, report)
                url = str(resource["files"][0]["resumable_upload_url"])
                self.events.phase(name, "process")
                self.client.process_uploaded_data(dataset_id, upload_file_name(url))
        return sent

    def _upload(self, resource: Mapping[str, Any], path: Path, size: int, report: TransferReport) -> bool:
        files = resource.get("files") or []
        if not files or not files[0].get("resumable_upload_url"):
            raise ApplyError(f"dataset '{self.plan.name}': Deepen returned no upload session")
        declared = int(float(files[0].get("file_size") or size))
        if declared != size:
            raise ApplyError(
                f"dataset '{self.plan.name}': the unfinished upload on Deepen expects {declared} bytes, the data zips to {size}",
                hint="delete the half-created dataset on Deepen and apply again",
            )
        self.events.phase(self.plan.name, "upload")
        upload = ResumableUpload(
            self.client.storage, str(files[0]["resumable_upload_url"]), path, size,
            chunk=self.chunk, on_bytes=self.events.bytes_sent, sleep=self.sleep,
            content_type=str(files[0].get("file_type") or "application/zip"),
        )
        outcome = upload.run()
        report.sent(outcome.sent, display=False)  # bytes over the wire, resent ones included
        if outcome.started_at:
            self.messages.append(f"upload resumed at byte {outcome.started_at:,} of {size:,}")
        if outcome.interruptions:
            self.messages.append(
                f"upload interrupted {outcome.interruptions} time(s); each time it resumed from the offset the server persisted"
            )
        return outcome.sent > 0

    def _wait(self, dataset_id: str) -> dict[str, Any]:
        """Poll until processing ends; raise :class:`ApplyError` on ``preprocessing_error`` or timeout."""
        self.events.phase(self.plan.name, "processing")
        deadline = time.monotonic() + self.timeout
        delay = 0.2
        while True:
            resource = self.client.get_dataset(dataset_id)
            status = resource.get("processing_status")
            if status == "preprocessing_error":
                message = resource.get("processing_status_message") or resource.get("processing_error_message") or "no message"
                raise ApplyError(
                    f"Deepen could not process dataset '{self.plan.name}': {' '.join(str(message).split())}",
                    hint="fix the data, then apply again (the dataset must be replaced: set spec.allowReplace: true)",
                )
            if status not in UNPROCESSED:
                return resource
            if time.monotonic() >= deadline:
                raise ApplyError(
                    f"dataset '{self.plan.name}' is still processing on Deepen after {self.timeout:g} s",
                    hint="`labelsync status` shows its progress; apply again later to import the labels",
                )
            self.sleep(delay)
            delay = min(5.0, delay * 1.5)

    def _import_changed_labels(self, dataset_id: str, changes: Sequence[Change]) -> None:
        resource = self.client.get_dataset(dataset_id)
        if resource.get("processing_status") in UNPROCESSED:
            self._wait(dataset_id)
        pairs = []
        for c in changes:
            label = c.after.label or {}
            before = c.before.label or {}
            dropped = sorted(k for k, v in before.items() if k not in label or (isinstance(v, list) and len(v) > len(label[k] or [])))
            if dropped:
                self.messages.append(
                    f"{c.after.remote_path}: {', '.join(dropped)} labels removed locally stay on Deepen (the API cannot "
                    "delete labels), so plan keeps showing this file; remove them in Deepen's tool or pull them back"
                )
            if label:
                pairs.append((c.after.remote_path, label))
        self._import(dataset_id, str(resource.get("dataset_type")), resource.get("dataset_format"), pairs)

    def _import(self, dataset_id: str, dataset_type: str, dataset_format: str | None, pairs: list[tuple[str, Any]]) -> None:
        self.events.phase(self.plan.name, "labels")
        labels: list[dict[str, Any]] = []
        skipped = 0
        for remote_path, label in pairs:
            file_id = file_id_for(remote_path, dataset_type, dataset_format)
            if file_id is None:
                skipped += 1
                continue
            labels.extend(to_deepen(file_id, label))
        for start in range(0, len(labels), LABEL_BATCH):
            self.client.import_labels(dataset_id, labels[start:start + LABEL_BATCH])
        self.events.message(f"{self.plan.name}: imported {len(labels)} label(s) of {len(pairs) - skipped} file(s)")
        if skipped:
            self.messages.append(f"{skipped} label(s) of files that are not Deepen files (e.g. camera images of 3d frames) were not sent")
