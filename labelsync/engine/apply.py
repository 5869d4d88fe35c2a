"""Executing a plan: refuse blocked plans, then apply dataset by dataset through sessions.

Apply never re-diffs: it executes the :class:`~labelsync.plan.model.Plan` it is given. Per
dataset the provider offers a :class:`~labelsync.providers.session.Session`; the engine
drives it in phase order (``design.md`` "Apply"):

1. ``open``: the dataset is created if planned, the lock taken, and the stale check made
   once, holding the lock (the remote head must still be the plan's base); a resumed
   session says which items it holds already, and those changes are skipped;
2. settings, catalog, notes, segments (created), sensors (concurrently);
3. files, and labels that bring mask files: content the remote lacks is sent and the files
   registered in batches as their content is stored (:mod:`labelsync.engine.transfer`);
4. the other label changes, in batches, concurrently;
5. deletions (only planned with prune): files, then sensors, then segments;
6. ``commit`` (message, provenance, the plan's tag), and ``close`` always.

The engine counts the results (files written, sent, not sent and why, bytes) and reports
progress through :class:`~labelsync.providers.session.ApplyEvents`; it never prints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from labelsync import phases
from labelsync.engine.connect import Connections
from labelsync.engine.presend import Presend
from labelsync.engine.transfer import transfer_segment
from labelsync.errors import PlanError
from labelsync.plan.model import Action, Change, DatasetPlan, FileChange, Kind, Plan, Replacement
from labelsync.providers.session import ApplyEvents, ApplyOptions, ApplyResult, Session
from labelsync.state import Item, item_fingerprint

METADATA = (Kind.SETTINGS, Kind.CATALOG, Kind.NOTES)
"""Dataset-level changes, put one by one in this order before segments and sensors."""


def check_applicable(plan: Plan) -> None:
    """Raise :class:`PlanError` when any dataset of ``plan`` is blocked."""
    reasons = [reason for d in plan.datasets for reason in d.blocked]
    if reasons:
        raise PlanError(
            "the plan cannot be applied: " + "; ".join(reasons),
            hint="change the manifest (or allow what it needs), then plan again",
        )


def apply_plan(
    plan: Plan, connections: Connections, options: ApplyOptions, events: ApplyEvents, *, presend: Presend | None = None
) -> list[ApplyResult]:
    """Apply every dataset of ``plan`` that has changes; returns one result per applied dataset.

    ``presend``: a running pre-send (:mod:`labelsync.engine.presend`) of one of these
    datasets; its opened session is taken over and the blobs it stored are not sent again.
    Raises :class:`StalePlanError` when a dataset's remote head moved since the plan, and
    whatever the provider raises; datasets applied before a failure stay applied.
    """
    check_applicable(plan)
    results: list[ApplyResult] = []
    try:
        for dp in plan.datasets:
            if not dp.has_changes:
                continue
            if presend is not None and presend.plan is dp:
                results.append(apply_dataset(presend.session, dp, options, events, presend=presend))
                continue
            provider = connections.get(dp.remote).provider
            results.append(apply_dataset(provider.session(dp, options, events), dp, options, events))
    finally:
        events.done()
    return results


def apply_dataset(
    session: Session, plan: DatasetPlan, options: ApplyOptions, events: ApplyEvents, *, presend: Presend | None = None
) -> ApplyResult:
    """Drive ``session`` through ``plan`` (see the module docstring); returns what was done.

    With ``presend`` the session was opened by the pre-send, which may have stored blobs:
    ``open`` is not called again and those blobs count as sent and are skipped."""
    by_kind = _by_kind(plan)
    with phases.phase("apply: open (lock, checks)"):
        # raises StalePlanError (having released what it took) when the remote moved
        opened = presend.result() if presend is not None else session.open()
    present = presend.stored if presend is not None else set()
    messages = list(opened.messages)
    try:
        if opened.held:
            by_kind = _skip_held(by_kind, opened.held)
        with ThreadPoolExecutor(max_workers=max(1, options.jobs), thread_name_prefix="labelsync-apply") as pool:
            for kind in METADATA:
                for change in by_kind.get(kind, []):
                    events.phase(plan.name, kind.value)
                    _note(messages, session.put(change))
            segments = [c for c in by_kind.get(Kind.SEGMENT, []) if c.action is Action.CREATE]
            if segments:
                events.phase(plan.name, "segments")
            for change in segments:
                _note(messages, session.put(change))
            sensors = [c for c in by_kind.get(Kind.SENSOR, []) if c.action is not Action.DELETE]
            if sensors:
                events.phase(plan.name, "sensors")
                for note in [f.result() for f in [pool.submit(session.put, c) for c in sensors]]:
                    _note(messages, note)
            labels = by_kind.get(Kind.LABEL, [])
            # label changes that bring mask files go through the transfer path too
            registered = [c for c in by_kind.get(Kind.FILE, []) if c.action is not Action.DELETE]
            registered += [c for c in labels if c.after.masks]
            with phases.phase("apply: files (send, register)"):
                files_sent, bytes_sent = _transfer(session, plan, registered, events, pool, presend=present)
            if presend is not None:
                files_sent += presend.files_sent
                bytes_sent += presend.bytes_sent
            not_sent = _not_sent(registered) if session.reuses_content else []
            if not_sent:
                events.message(f"{plan.name}: not sent: {'; '.join(not_sent)}")
            with phases.phase("apply: labels, deletions"):
                _labels(session, [c for c in labels if not c.after.masks], events, pool)
                _deletions(session, by_kind, events, pool)
        events.phase(plan.name, "commit")
        with phases.phase("apply: commit"):
            revision = session.commit(options.message, options.source)
    except BaseException as exc:
        better = session.close(exc)
        if better is not None:
            raise better from exc
        raise
    with phases.phase("apply: close (release)"):
        session.close(None)
    messages.extend(session.messages)
    return ApplyResult(
        name=plan.name,
        revision=revision,
        files_uploaded=files_sent,
        bytes_uploaded=bytes_sent,
        files_registered=len(registered),
        not_sent=tuple(not_sent),
        changes_applied=len(plan.changes),
        resumed=opened.resumed,
        messages=tuple(messages),
    )


def _by_kind(plan: DatasetPlan) -> dict[Kind, list[Change]]:
    """The plan's changes per kind; a replace contributes every file of the new dataset."""
    by_kind: dict[Kind, list[Change]] = {}
    for change in plan.changes:
        by_kind.setdefault(change.kind, []).append(change)
        if isinstance(change.after, Replacement):
            files = by_kind.setdefault(Kind.FILE, [])
            files.extend(
                Change(Action.CREATE, Kind.FILE, f"{change.address}/file.{f.remote_path}", segment="", after=f)
                for f in change.after.items
            )
    return by_kind


def _note(messages: list[str], note: str | None) -> None:
    if note:
        messages.append(note)


def _transfer(
    session: Session, plan: DatasetPlan, changes: list[Change], events: ApplyEvents, pool: ThreadPoolExecutor, *, presend: set[str]
) -> tuple[int, int]:
    if not changes:
        return 0, 0
    # a replace's files carry no bytes of their own: the replace change counts them
    events.files_planned(len(changes), sum(c.upload_bytes for c in changes) or plan.upload_bytes())
    by_segment: dict[str, list[Change]] = {}
    referenced: set[str] = set()
    to_send: set[str] = set()
    for change in changes:
        f = change.after
        by_segment.setdefault(str(change.segment), []).append(change)
        if session.reuses_content:
            referenced.add(f.blob.checksum)
            referenced.update(m.blob.checksum for m in f.masks)
            to_send.update(f.send)
    remote_blobs = referenced - to_send  # the differ found these on the remote already
    remote_blobs |= presend & referenced  # stored by the pre-send
    files = total = 0
    for segment, segment_changes in by_segment.items():
        events.phase(segment, "files")
        n, b = transfer_segment(session, segment, segment_changes, remote_blobs=remote_blobs, events=events, pool=pool)
        files += n
        total += b
    return files, total


def _not_sent(changes: list[Change]) -> list[str]:
    """Why the registered files whose data is not sent need no upload, counted per reason
    (the plan's ``send`` lists say which change sends which content)."""
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


def _labels(session: Session, changes: list[Change], events: ApplyEvents, pool: ThreadPoolExecutor) -> None:
    if not changes:
        return
    events.phase("labels", "labels")
    by_segment: dict[str, list[Change]] = {}
    for change in changes:
        by_segment.setdefault(str(change.segment), []).append(change)
    futures = []
    for segment, items in by_segment.items():
        size = max(1, session.register_batch(segment, True))
        futures += [pool.submit(session.register, segment, items[i : i + size]) for i in range(0, len(items), size)]
    for fut in futures:
        fut.result()
    events.message(f"updated {len(changes)} label(s) (no file bytes sent)")


def _deletions(session: Session, by_kind: Mapping[Kind, Sequence[Change]], events: ApplyEvents, pool: ThreadPoolExecutor) -> None:
    files = [c for c in by_kind.get(Kind.FILE, []) if c.action is Action.DELETE]
    sensors = [c for c in by_kind.get(Kind.SENSOR, []) if c.action is Action.DELETE]
    segments = [c for c in by_kind.get(Kind.SEGMENT, []) if c.action is Action.DELETE]
    if not (files or sensors or segments):
        return
    events.phase("deletions", "delete")
    dropped = {c.segment for c in segments}  # deleting a segment deletes what it holds
    list(pool.map(session.delete, [c for c in files if c.segment not in dropped]))
    for c in sensors:
        if c.segment not in dropped:
            session.delete(c)
    for c in segments:
        session.delete(c)


def _skip_held(by_kind: dict[Kind, list[Change]], held: Mapping[str, Mapping[str, Item]]) -> dict[Kind, list[Change]]:
    """Drop the file and label changes whose item a resumed session holds exactly."""
    out = dict(by_kind)
    for kind in (Kind.FILE, Kind.LABEL):
        keep = []
        for c in by_kind.get(kind, []):
            f = c.after
            have = held.get(str(c.segment), {}).get(f.remote_path) if isinstance(f, FileChange) else None
            if have is not None and item_fingerprint(have) == f.fingerprint():
                continue  # the resumed session holds exactly this item already
            keep.append(c)
        out[kind] = keep
    return out
