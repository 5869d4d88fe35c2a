"""Apply one dataset's plan to TensorBay, in the order of ``design.md`` "Apply (tensorbay)".

1. create the dataset (or find the one an interrupted run created);
2. open a draft on the branch, or resume labelsync's own interrupted draft (the lock);
3. settings, catalog, notes, segments, sensors; then files (upload engine), then labels;
   deletions last (they are only planned with prune);
4. commit with the message, the desired digest and the source as trailers; tag if asked.

When the draft is resumed, its contents are read first and changes already done in it are
skipped, so a re-run sends only what is missing.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from labelsync.engine.events import ApplyEvents
from labelsync.errors import AuthError, ConflictError, NotFoundError, StalePlanError
from labelsync.plan.model import Action, Change, DatasetPlan, Kind
from labelsync.providers.base import ApplyOptions, ApplyResult, stale_plan
from labelsync.providers.tensorbay.client import ROOT_COMMIT, TensorBayClient
from labelsync.providers.tensorbay.convert import callback_object, digest_trailer, live_items
from labelsync.providers.tensorbay.lock import DraftLock
from labelsync.providers.tensorbay.tags import tag_taken
from labelsync.providers.tensorbay.upload import FileJob, run_batches, upload_segment
from labelsync.state import item_fingerprint

LABEL_BATCH = 128
DELETE_JOBS = 8


def apply_dataset(client: TensorBayClient, plan: DatasetPlan, options: ApplyOptions, events: ApplyEvents) -> ApplyResult:
    """Execute ``plan`` against ``client``'s remote; returns what was done."""
    by_kind: dict[Kind, list[Change]] = {}
    for change in plan.changes:
        by_kind.setdefault(change.kind, []).append(change)
    fusion = plan.kind == "fusion"
    tag = plan.tag or options.tag
    if tag:  # known before writing: refuse before a dataset or draft exists for this apply
        problem = tag_taken(client, plan.remote_id, plan.name, tag)
        if problem is not None:
            raise ConflictError(problem, hint="plan again with another --tag")
    dataset_id = _ensure_dataset(client, plan, by_kind, events)
    lock = DraftLock(client, dataset_id, plan.branch, plan.desired_digest)
    draft = lock.acquire()
    # Holding the draft, the branch cannot move any more: check it has not moved since the
    # plan (another apply may have committed between this run's plan and its lock).
    head = client.branch_head(dataset_id, plan.branch)
    if head != plan.base:
        lock.abandon()
        raise stale_plan(plan, head)
    messages: list[str] = []
    committed = False
    try:
        if lock.replaced is not None:
            note = f"closed labelsync's interrupted draft #{lock.replaced}: it was opened for a different plan"
            events.message(f"{plan.name}: {note}")
            messages.append(note)
        if lock.resumed:
            events.message(f"{plan.name}: resuming labelsync's open draft #{draft} on branch '{plan.branch}'")
            messages.append(f"resumed draft #{draft}")
            by_kind = _skip_done(client, dataset_id, draft, by_kind, fusion)
        with ThreadPoolExecutor(max_workers=max(1, options.jobs), thread_name_prefix="labelsync-upload") as pool:
            for change in by_kind.get(Kind.SETTINGS, []):
                events.phase(plan.name, "settings")
                alias = (change.after or {}).get("alias", "")
                client.update_dataset(dataset_id, alias=alias)
            for change in by_kind.get(Kind.CATALOG, []):
                events.phase(plan.name, "catalog")
                if change.after:
                    client.put_catalog(dataset_id, draft, change.after)
                else:
                    messages.append("the catalog cannot be emptied on TensorBay (the API refuses an empty catalog); left as is")
            for change in by_kind.get(Kind.NOTES, []):
                events.phase(plan.name, "notes")
                client.put_notes(dataset_id, draft, change.after)
            segments = [c for c in by_kind.get(Kind.SEGMENT, []) if c.action is Action.CREATE]
            if segments:
                events.phase(plan.name, "segments")
            for change in segments:
                assert change.segment is not None
                _create_segment(client, dataset_id, draft, change.segment)
            sensors = [c for c in by_kind.get(Kind.SENSOR, []) if c.action is not Action.DELETE]
            if sensors:
                events.phase(plan.name, "sensors")
                for fut in [pool.submit(client.put_sensor, dataset_id, draft, str(c.segment), c.after) for c in sensors]:
                    fut.result()
            labels = by_kind.get(Kind.LABEL, [])
            # label changes that bring new mask files go through the upload engine too
            registered = by_kind.get(Kind.FILE, []) + [c for c in labels if c.after.masks]
            files_sent, bytes_sent = _files(client, dataset_id, draft, registered, options, events, pool)
            not_sent = _not_sent(registered)
            if not_sent:
                events.message(f"{plan.name}: not sent: {'; '.join(not_sent)}")
            _labels(client, dataset_id, draft, [c for c in labels if not c.after.masks], events, pool)
            _deletions(client, dataset_id, draft, by_kind, events, pool)
        events.phase(plan.name, "commit")
        title, body = _message(options.message, plan)
        description = (body + "\n\n" if body else "") + digest_trailer(plan.desired_digest, options.source)
        try:
            commit_id = client.commit(dataset_id, draft, title, description, tag)
            committed = True
        except (ConflictError, NotFoundError) as exc:
            tag_problem = tag_taken(client, dataset_id, plan.name, tag) if tag else None
            if tag_problem is not None:  # created by someone else since the check above
                raise ConflictError(
                    f"could not commit draft #{draft}: {tag_problem}",
                    hint=f"draft #{draft} is kept and resumed by the next apply: plan again with another --tag",
                ) from exc
            raise ConflictError(
                f"could not commit draft #{draft} on branch '{plan.branch}': {exc.message}",
                hint="another apply may have committed it first; run plan again",
            ) from exc
    except (AuthError, NotFoundError) as exc:  # a write refused: was the draft taken from under us?
        taken = lock.taken_over()
        if taken is None:
            raise
        raise taken from exc
    finally:
        lock.release(committed=committed)
    return ApplyResult(
        name=plan.name,
        revision=commit_id,
        files_uploaded=files_sent,
        bytes_uploaded=bytes_sent,
        files_registered=len([c for c in registered if c.action is not Action.DELETE]),
        not_sent=tuple(not_sent),
        changes_applied=len(plan.changes),
        resumed=lock.resumed,
        messages=tuple(messages),
    )


def _ensure_dataset(client: TensorBayClient, plan: DatasetPlan, by_kind: dict[Kind, list[Change]], events: ApplyEvents) -> str:
    creates = [c for c in by_kind.get(Kind.DATASET, []) if c.action is Action.CREATE]
    if plan.remote_id and not creates:
        return plan.remote_id
    found = client.find_dataset(plan.name)
    if found is not None:
        info = client.get_dataset(str(found["id"]))
        if info.get("commitId") not in (None, ROOT_COMMIT):
            raise StalePlanError(
                f"dataset '{plan.name}' was created and committed to since the plan was made",
                hint="run plan again",
            )
        return str(found["id"])  # created by an interrupted apply: resume into it
    events.phase(plan.name, "create")
    after = creates[0].after if creates else {}
    alias = (after.get("settings") or {}).get("alias", "")
    return client.create_dataset(plan.name, fusion=plan.kind == "fusion", alias=alias)


def _create_segment(client: TensorBayClient, dataset_id: str, draft: int, name: str) -> None:
    try:
        client.create_segment(dataset_id, draft, name)
    except ConflictError:
        pass  # exists already (a resumed draft)


def _files(
    client: TensorBayClient,
    dataset_id: str,
    draft: int,
    changes: list[Change],
    options: ApplyOptions,
    events: ApplyEvents,
    pool: ThreadPoolExecutor,
) -> tuple[int, int]:
    uploads = [c for c in changes if c.action is not Action.DELETE]
    if not uploads:
        return 0, 0
    events.files_planned(len(uploads), sum(c.upload_bytes for c in uploads))
    by_segment: dict[str, list[FileJob]] = {}
    referenced: set[str] = set()
    to_send: set[str] = set()
    for change in uploads:
        after = change.after
        blobs = [(b.checksum, b.size, str(b.source)) for b in after.transfers()]
        referenced.update(b[0] for b in blobs)
        to_send.update(after.send)
        by_segment.setdefault(str(change.segment), []).append(FileJob(after=after, blobs=blobs))
    remote_blobs = referenced - to_send  # the differ found these on the remote already
    files = total = 0
    for segment, jobs in by_segment.items():
        events.phase(segment, "files")
        n, b = upload_segment(
            client, dataset_id, draft, segment, jobs,
            root=options.root, remote_blobs=remote_blobs, events=events, pool=pool,
        )
        files += n
        total += b
    return files, total


def _not_sent(changes: list[Change]) -> list[str]:
    """Why the registered files whose data is not sent need no upload, counted per reason
    (the plan's ``send`` lists say which change sends which content)."""
    changes = [c for c in changes if c.action is not Action.DELETE]
    sending = {checksum for c in changes for checksum in c.after.send}
    seen: set[str] = set()
    same = remote = labels = 0
    for change in changes:
        checksum = change.after.blob.checksum
        if change.kind is Kind.LABEL:
            labels += 1  # a label change with new mask files: the data file is unchanged
        elif checksum in sending and checksum not in seen:
            seen.add(checksum)
        elif checksum in sending:
            same += 1
        else:
            remote += 1
    out = []
    if same:
        out.append(f"{same:,} file(s) with the same content as another file of the plan, sent once")
    if remote:
        out.append(f"{remote:,} file(s) whose content the remote already holds")
    if labels:
        out.append(f"{labels:,} file(s) whose label changed (only their mask files are sent)")
    return out


def _labels(client: TensorBayClient, dataset_id: str, draft: int, changes: list[Change], events: ApplyEvents, pool: ThreadPoolExecutor) -> None:
    if not changes:
        return
    events.phase("labels", "labels")
    by_segment: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for change in changes:
        after = change.after
        before = change.before
        only_label = (before.timestamp, before.frame_id, before.sensor_name) == (after.timestamp, after.frame_id, after.sensor_name)
        labels, callbacks = by_segment.setdefault(str(change.segment), ([], []))
        if only_label and after.label:
            labels.append({"remotePath": after.remote_path, "label": after.label})
        else:  # timestamp/frame changes and cleared labels: re-register the item (no file bytes)
            callbacks.append(callback_object(after))
    for segment, (labels, callbacks) in by_segment.items():
        if labels:
            run_batches(pool, partial(client.put_labels, dataset_id, draft, segment), labels, LABEL_BATCH)
        if callbacks:
            run_batches(pool, partial(client.callback, dataset_id, draft, segment), callbacks, 50)
    events.message(f"updated {len(changes)} label(s) (no file bytes sent)")


def _deletions(client: TensorBayClient, dataset_id: str, draft: int, by_kind: dict[Kind, list[Change]], events: ApplyEvents, pool: ThreadPoolExecutor) -> None:
    files = [c for c in by_kind.get(Kind.FILE, []) if c.action is Action.DELETE]
    sensors = [c for c in by_kind.get(Kind.SENSOR, []) if c.action is Action.DELETE]
    segments = [c for c in by_kind.get(Kind.SEGMENT, []) if c.action is Action.DELETE]
    if not (files or sensors or segments):
        return
    events.phase("deletions", "delete")
    dropped = {c.segment for c in segments}
    targets = [c for c in files if c.segment not in dropped]

    def delete_file(chunk: list[Change]) -> None:
        for c in chunk:
            _ignore_missing(lambda c=c: client.delete_data(dataset_id, draft, str(c.segment), c.before.remote_path))

    if targets:
        list(pool.map(delete_file, [[c] for c in targets]))
    for c in sensors:
        if c.segment not in dropped:
            _ignore_missing(lambda c=c: client.delete_sensor(dataset_id, draft, str(c.segment), c.before["name"]))
    for c in segments:
        _ignore_missing(lambda c=c: client.delete_segment(dataset_id, draft, str(c.segment)))


def _ignore_missing(fn: Any) -> None:
    try:
        fn()
    except NotFoundError:
        pass  # already gone (a resumed draft)


def _message(message: str, plan: DatasetPlan) -> tuple[str, str]:
    text = message.strip() or f"labelsync apply: {plan.name}"
    title, _, body = text.partition("\n")
    return title.strip()[:200], body.strip()


def _skip_done(client: TensorBayClient, dataset_id: str, draft: int, by_kind: dict[Kind, list[Change]], fusion: bool) -> dict[Kind, list[Change]]:
    """Drop the file and label changes a resumed draft already holds."""
    segments = {c.segment for k in (Kind.FILE, Kind.LABEL) for c in by_kind.get(k, [])}
    existing = {s["name"] for s in client.list_segments(dataset_id, {"draftNumber": draft})}
    done: dict[str, dict[str, Any]] = {}
    for segment in segments:
        if segment in existing:
            items, _ = live_items(client.list_details(dataset_id, str(segment), {"draftNumber": draft}), fusion=fusion)
            done[str(segment)] = {p: i for p, i in items.items()}
    out = dict(by_kind)
    for kind in (Kind.FILE, Kind.LABEL):
        keep = []
        for c in by_kind.get(kind, []):
            if c.action is Action.DELETE:
                keep.append(c)
                continue
            have = done.get(str(c.segment), {}).get(c.after.remote_path)
            if have is not None and item_fingerprint(have) == c.after.fingerprint():
                continue  # the resumed draft holds exactly this item already
            keep.append(c)
        out[kind] = keep
    return out
