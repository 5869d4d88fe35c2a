"""Apply one dataset's plan to Deepen, as ``design.md`` "Apply (deepen)" describes.

A Deepen dataset takes no new files and no new profile after creation, so a plan is one of:

* **labels only** (``label`` updates): the changed items' labels are imported as pre-labels
  (``POST /datasets/{id}/labels``; the import upserts by ``label_id``);
* **create**: zip the data deterministically, save the labelling profile, create the dataset
  (profile, one zip file, the bookkeeping tags), upload the zip over the resumable session,
  ``process_uploaded_data``, wait for processing (``options.timeout``), import the labels;
* **replace** (only planned with ``allowReplace``): delete the dataset, then create.

A create interrupted at any point is resumed by the next apply: a dataset with this name
whose digest tag is the plan's digest is labelsync's own unfinished create; its upload
continues from the offset the server persisted, then processing and labels follow.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labelsync.engine.events import ApplyEvents
from labelsync.errors import ApplyError, LocalDataError, NotFoundError, StalePlanError
from labelsync.plan.model import Action, DatasetPlan, FileChange, Kind, Replacement
from labelsync.providers.base import ApplyOptions, ApplyResult
from labelsync.providers.deepen.client import DeepenClient, upload_file_name
from labelsync.providers.deepen.convert import (
    DIGEST_TAG,
    content_digest_of,
    create_body,
    file_id_for,
    profile_for,
    read_tag,
    to_deepen,
)
from labelsync.providers.deepen.layout import content_problems
from labelsync.providers.deepen.upload import DEFAULT_CHUNK, ResumableUpload
from labelsync.providers.deepen.zipper import write_zip

LABEL_BATCH = 500
UNPROCESSED = ("files_to_be_uploaded", "files_uploaded")


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


class DeepenApply:
    """One apply of one dataset plan (see the module docstring)."""

    def __init__(
        self,
        client: DeepenClient,
        plan: DatasetPlan,
        options: ApplyOptions,
        events: ApplyEvents,
        *,
        chunk: int = DEFAULT_CHUNK,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.plan = plan
        self.options = options
        self.events = events
        self.chunk = chunk
        self.sleep = sleep
        self.messages: list[str] = []
        self.bytes_sent = 0
        self.resumed = False

    def run(self) -> ApplyResult:
        plan = self.plan
        kinds = {c.kind for c in plan.changes}
        replace = any(c.kind is Kind.DATASET and c.action is Action.REPLACE for c in plan.changes)
        if kinds <= {Kind.LABEL}:
            dataset_id = plan.remote_id or plan.base
            if not dataset_id:
                raise StalePlanError(f"dataset '{plan.name}' has no remote id in the plan", hint="run plan again")
            self._import_changed_labels(dataset_id)
            return self._result(dataset_id, files=0)
        old_id = None
        if replace:
            replacement = blueprint_from_replace(plan, self.options.root)
            if replacement is None:
                raise ApplyError(f"dataset '{plan.name}': the replace in this plan lists no files", hint="run plan again")
            blueprint = replacement
            old_id = plan.remote_id or plan.base
        else:
            found = blueprint_from_plan(plan, self.options.root)
            if found is None:
                raise ApplyError(f"dataset '{plan.name}': the plan has changes Deepen cannot apply in place", hint="run plan again")
            blueprint = found
        # A replace creates (and processes) the new dataset first and deletes the old one
        # only then: a failed upload or processing never loses the old dataset's labelling.
        dataset_id = self._create(blueprint)
        if old_id and old_id != dataset_id:
            self._delete(old_id)
        return self._result(dataset_id, files=1)

    def _result(self, dataset_id: str, *, files: int) -> ApplyResult:
        return ApplyResult(
            name=self.plan.name,
            revision=dataset_id,
            files_uploaded=files if self.bytes_sent else 0,
            bytes_uploaded=self.bytes_sent,
            changes_applied=len(self.plan.changes),
            resumed=self.resumed,
            messages=tuple(self.messages),
        )

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

    def _create(self, bp: Blueprint) -> str:
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
        existing = self._existing()
        with tempfile.TemporaryDirectory(prefix="labelsync-deepen-") as tmp:
            if bp.dataset_type == "video":
                upload_path, size = Path(items[0]["source"]), int(items[0]["fileSize"])
            else:
                self.events.phase(name, "zip")
                zipped = write_zip([(i["remotePath"], i["source"]) for i in items], Path(tmp) / "data.zip")
                upload_path, size = zipped.path, zipped.size
            if existing is not None:
                dataset_id, resource = existing
                self.resumed = True
                self.events.message(f"{name}: resuming labelsync's unfinished create of dataset {dataset_id}")
                self.messages.append(f"resumed the unfinished create of {dataset_id}")
            else:
                self.events.phase(name, "create")
                profile = profile_for(bp.catalog, bp.settings)
                profile_id = self.client.create_profile({**profile, "profile_name": f"labelsync {name}"})
                content = content_digest_of((i["remotePath"], i["checksum"], int(i["fileSize"])) for i in items)
                body = create_body(name, bp.settings, bp.catalog, file_size=size, digest=self.plan.desired_digest, content=content, profile_id=profile_id)
                resource = self.client.create_dataset(body)
                dataset_id = str(resource["dataset_id"])
            if resource.get("processing_status", "files_to_be_uploaded") == "files_to_be_uploaded":
                self._upload(resource, upload_path, size)
                url = str(resource["files"][0]["resumable_upload_url"])
                self.events.phase(name, "process")
                self.client.process_uploaded_data(dataset_id, upload_file_name(url))
        if not self.options.wait:
            self.messages.append("not waiting for processing; labels are not imported (run apply again later)")
            return dataset_id
        self._wait(dataset_id)
        labelled = [i for i in items if i.get("label")]
        if labelled:
            self._import(dataset_id, bp.dataset_type, bp.dataset_format, [(i["remotePath"], i["label"]) for i in labelled])
        return dataset_id

    def _upload(self, resource: Mapping[str, Any], path: Path, size: int) -> None:
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
        self.events.files_planned(1, size)

        def progress(n: int) -> None:
            self.events.bytes_sent(n)

        upload = ResumableUpload(
            self.client.storage, str(files[0]["resumable_upload_url"]), path, size,
            chunk=self.chunk, on_bytes=progress, sleep=self.sleep,
            content_type=str(files[0].get("file_type") or "application/zip"),
        )
        outcome = upload.run()
        self.bytes_sent += outcome.sent
        if outcome.started_at:
            self.resumed = True
            self.messages.append(f"upload resumed at byte {outcome.started_at:,} of {size:,}")
        if outcome.interruptions:
            self.messages.append(
                f"upload interrupted {outcome.interruptions} time(s); each time it resumed from the offset the server persisted"
            )
        self.events.file_done(path.name, size, outcome.sent > 0)

    def _wait(self, dataset_id: str) -> dict[str, Any]:
        """Poll until processing ends; raise :class:`ApplyError` on ``preprocessing_error`` or timeout."""
        self.events.phase(self.plan.name, "processing")
        deadline = time.monotonic() + self.options.timeout
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
                    f"dataset '{self.plan.name}' is still processing on Deepen after {self.options.timeout:g} s",
                    hint="`labelsync status` shows its progress; apply again later to import the labels",
                )
            self.sleep(delay)
            delay = min(5.0, delay * 1.5)

    def _import_changed_labels(self, dataset_id: str) -> None:
        resource = self.client.get_dataset(dataset_id)
        if resource.get("processing_status") in UNPROCESSED:
            self._wait(dataset_id)
        pairs = []
        for c in self.plan.changes:
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
