"""TensorBay's apply session: one draft per apply, which is also the branch's lock.

* ``open``: refuse a tag that is taken (before anything is written); create the dataset
  (or find the one an interrupted run created); open a draft on the branch, or resume
  labelsync's own interrupted draft (:class:`~.lock.DraftLock`); then, holding the draft,
  check once that the branch head is still the plan's base. A resumed draft's items are
  listed so that the engine skips what it holds already.
* ``put``: settings (alias), catalog, notes, segments, sensors, into the draft;
* ``presend``: blobs to storage with a dataset-level policy, before the plan is checked
  through (content-addressed: harmless when not registered);
* ``transfer``: blobs to storage (:mod:`.upload`); ``register``: ``multi/callback`` for
  files, ``multi/data/labels`` for label-only changes;
* ``delete``: files, sensors, segments of the draft (already gone is fine);
* ``commit``: the message with the desired digest and the source as trailers, and the
  plan's tag; ``close``: stop the heartbeat and release the lock when not committed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from labelsync.errors import AuthError, ConflictError, NotFoundError, StalePlanError
from labelsync.plan.model import Action, BlobTransfer, Change, DatasetPlan, FileChange, Kind, LabelState
from labelsync.providers.session import (
    ApplyEvents,
    ApplyOptions,
    Opened,
    TransferReport,
    provider_options,
    stale_plan,
)
from labelsync.providers.tensorbay.client import ROOT_COMMIT, TensorBayClient
from labelsync.providers.tensorbay.convert import callback_object, digest_trailer, live_items
from labelsync.providers.tensorbay.lock import DraftLock
from labelsync.providers.tensorbay.tags import tag_taken
from labelsync.providers.tensorbay.upload import PolicyCache, SegmentTransfer
from labelsync.state import Item

LABEL_BATCH = 128
"""Label-only changes per ``multi/data/labels`` request."""
CALLBACK_BATCH = 50
"""Re-registered items (timestamp or frame changes, cleared labels) per ``multi/callback``."""


class TensorBaySession:
    """A :class:`~labelsync.providers.session.Session` writing one plan into one draft."""

    reuses_content = True

    def __init__(self, client: TensorBayClient, plan: DatasetPlan, options: ApplyOptions, events: ApplyEvents) -> None:
        provider_options(options, "TensorBay", {})  # none: the tag is part of the plan
        self.client = client
        self.plan = plan
        self.options = options
        self.events = events
        self.messages: list[str] = []
        self.dataset_id = ""
        self.draft = 0
        self.lock: DraftLock | None = None
        self.committed = False
        self._policies: dict[str, PolicyCache] = {}

    # ------------------------------------------------------------------ open

    def open(self) -> Opened:
        plan = self.plan
        if plan.tag:  # known before writing: refuse before a dataset or draft exists for this apply
            problem = tag_taken(self.client, plan.remote_id, plan.name, plan.tag)
            if problem is not None:
                raise ConflictError(problem, hint="plan again with another --tag")
        self.dataset_id, created = self._ensure_dataset()
        lock = self.lock = DraftLock(self.client, self.dataset_id, plan.branch, plan.desired_digest)
        self.draft = lock.acquire(fresh=created)
        # Holding the draft, the branch cannot move any more: the one stale check, here
        # (another apply may have committed between this run's plan and its lock).
        head = self.client.branch_head(self.dataset_id, plan.branch)
        if head != plan.base:
            lock.abandon()
            raise stale_plan(plan, head)
        notes: list[str] = []
        if lock.replaced is not None:
            note = f"closed labelsync's interrupted draft #{lock.replaced}: it was opened for a different plan"
            self.events.message(f"{plan.name}: {note}")
            notes.append(note)
        if not lock.resumed:
            return Opened(messages=tuple(notes))
        self.events.message(f"{plan.name}: resuming labelsync's open draft #{self.draft} on branch '{plan.branch}'")
        notes.append(f"resumed draft #{self.draft}")
        return Opened(resumed=True, held=self._held(), messages=tuple(notes))

    def _ensure_dataset(self) -> tuple[str, bool]:
        """``(dataset id, created by this call)``. A planned dataset is created at once (one
        request); only when the name is taken (409) is the existing one looked up: an
        interrupted apply's dataset, still at the root commit, is resumed into."""
        plan = self.plan
        creates = [c for c in plan.changes if c.kind is Kind.DATASET and c.action is Action.CREATE]
        if plan.remote_id and not creates:
            return plan.remote_id, False
        self.events.phase(plan.name, "create")
        after = creates[0].after if creates else {}
        alias = (after.get("settings") or {}).get("alias", "")
        try:
            return self.client.create_dataset(plan.name, fusion=plan.kind == "fusion", alias=alias), True
        except ConflictError:
            found = self.client.find_dataset(plan.name)
            if found is None:
                raise
        info = self.client.get_dataset(str(found["id"]))
        if info.get("commitId") not in (None, ROOT_COMMIT):
            raise StalePlanError(
                f"dataset '{plan.name}' was created and committed to since the plan was made",
                hint="run plan again",
            )
        return str(found["id"]), False  # created by an interrupted apply: resume into it

    def _held(self) -> dict[str, Mapping[str, Item]]:
        """The items of the resumed draft, for the segments the plan writes files or labels to."""
        segments = {str(c.segment) for c in self.plan.changes if c.kind in (Kind.FILE, Kind.LABEL)}
        existing = {s["name"] for s in self.client.list_segments(self.dataset_id, {"draftNumber": self.draft})}
        held: dict[str, Mapping[str, Item]] = {}
        for segment in sorted(segments & existing):
            details = self.client.list_details(self.dataset_id, segment, {"draftNumber": self.draft})
            held[segment], _ = live_items(details, fusion=self.plan.kind == "fusion")
        return held

    # ------------------------------------------------------------------ writing

    def put(self, change: Change) -> str | None:
        c, ds, draft = self.client, self.dataset_id, self.draft
        if change.kind is Kind.SETTINGS:
            c.update_dataset(ds, alias=(change.after or {}).get("alias", ""))
        elif change.kind is Kind.CATALOG:
            if not change.after:
                return "the catalog cannot be emptied on TensorBay (the API refuses an empty catalog); left as is"
            c.put_catalog(ds, draft, change.after)
        elif change.kind is Kind.NOTES:
            c.put_notes(ds, draft, change.after)
        elif change.kind is Kind.SEGMENT:
            try:
                c.create_segment(ds, draft, str(change.segment))
            except ConflictError:
                pass  # exists already (a resumed draft)
        elif change.kind is Kind.SENSOR:
            c.put_sensor(ds, draft, str(change.segment), change.after)
        return None

    def _policy(self, segment: str) -> PolicyCache:
        if segment not in self._policies:
            self._policies[segment] = PolicyCache(self.client, self.dataset_id, self.draft, segment)
        return self._policies[segment]

    def transfer(self, segment: str, files: Sequence[FileChange], blobs: Sequence[BlobTransfer], report: TransferReport) -> SegmentTransfer:
        return SegmentTransfer(self.client, self._policy(segment), blobs, self.options.root, report)

    def presend(self, blobs: Sequence[BlobTransfer], report: TransferReport) -> SegmentTransfer:
        """Blobs to storage before anything is registered (a :class:`~labelsync.providers.session.BlobStore`):
        storage is keyed ``objectPrefix + SHA-1`` per dataset, so a dataset-level policy (no
        segment: the plan's segments may not exist in the draft yet) serves every segment, and
        a blob the apply then does not register is an unreferenced object, never a file."""
        return SegmentTransfer(self.client, self._policy(""), blobs, self.options.root, report)

    def adopt(self, plan: DatasetPlan) -> None:
        """The complete plan replaces the provisional one (see ``BlobStore.adopt``): same
        dataset, branch and base; the draft's lock line gets the plan's digest at once."""
        mine = self.plan
        same = (plan.name, plan.branch, plan.base, plan.kind, plan.tag) == (mine.name, mine.branch, mine.base, mine.kind, mine.tag)
        if not same:
            raise stale_plan(plan, mine.base)
        self.plan = plan
        assert self.lock is not None
        self.lock.set_digest(plan.desired_digest)

    def register_batch(self, segment: str, labels: bool) -> int:
        return LABEL_BATCH if labels else self._policy(segment).batch_size()

    def register(self, segment: str, changes: Sequence[Change]) -> None:
        labels: list[dict[str, Any]] = []
        callbacks: list[dict[str, Any]] = []
        for change in changes:
            f = change.after
            assert isinstance(f, FileChange)
            before = change.before
            only_label = (
                change.kind is Kind.LABEL and not f.masks and isinstance(before, LabelState)
                and (before.timestamp, before.frame_id, before.sensor_name) == (f.timestamp, f.frame_id, f.sensor_name)
            )
            if only_label and f.label:
                labels.append({"remotePath": f.remote_path, "label": f.label})
            else:  # files; timestamp/frame changes and cleared labels re-register the item (no file bytes)
                callbacks.append(callback_object(f))
        if labels:
            self.client.put_labels(self.dataset_id, self.draft, segment, labels)
        # the transfer path sized its batch by the upload policy; label changes go by CALLBACK_BATCH
        transferred = all(c.kind is Kind.FILE or c.after.masks for c in changes)
        size = len(callbacks) if transferred else CALLBACK_BATCH
        send = partial(self.client.callback, self.dataset_id, self.draft, segment)
        for start in range(0, len(callbacks), max(1, size)):
            send(callbacks[start : start + size])

    def delete(self, change: Change) -> None:
        c, ds, draft, segment = self.client, self.dataset_id, self.draft, str(change.segment)
        try:
            if change.kind is Kind.FILE:
                c.delete_data(ds, draft, segment, change.before.remote_path)
            elif change.kind is Kind.SENSOR:
                c.delete_sensor(ds, draft, segment, change.before["name"])
            elif change.kind is Kind.SEGMENT:
                c.delete_segment(ds, draft, segment)
        except NotFoundError:
            pass  # already gone (a resumed draft)

    def commit(self, message: str, source: Mapping[str, str]) -> str:
        plan, draft, tag = self.plan, self.draft, self.plan.tag
        title, body = _message(message, plan)
        description = (body + "\n\n" if body else "") + digest_trailer(plan.desired_digest, source)
        try:
            commit_id = self.client.commit(self.dataset_id, draft, title, description, tag)
        except (ConflictError, NotFoundError) as exc:
            tag_problem = tag_taken(self.client, self.dataset_id, plan.name, tag) if tag else None
            if tag_problem is not None:  # created by someone else since the check in open
                raise ConflictError(
                    f"could not commit draft #{draft}: {tag_problem}",
                    hint=f"draft #{draft} is kept and resumed by the next apply: plan again with another --tag",
                ) from exc
            raise ConflictError(
                f"could not commit draft #{draft} on branch '{plan.branch}': {exc.message}",
                hint="another apply may have committed it first; run plan again",
            ) from exc
        self.committed = True
        return commit_id

    def close(self, error: BaseException | None) -> BaseException | None:
        lock = self.lock
        if lock is None:
            return None
        try:
            if isinstance(error, (AuthError, NotFoundError)):  # a write refused: was the draft taken from under us?
                return lock.taken_over()
            return None
        finally:
            lock.release(committed=self.committed)


def _message(message: str, plan: DatasetPlan) -> tuple[str, str]:
    text = message.strip() or f"labelsync apply: {plan.name}"
    title, _, body = text.partition("\n")
    return title.strip()[:200], body.strip()
