"""Executing a plan: refuse blocked plans, then apply dataset by dataset through sessions.

Apply never re-diffs: it executes the :class:`~labelsync.plan.model.Plan` it is given. Per
dataset the provider offers a :class:`~labelsync.providers.session.Session`; the engine
drives it in phase order (``design.md`` "Apply"):

1. ``open``: the dataset is created if planned, the lock taken, and the stale check made
   once, holding the lock (the remote head must still be the plan's base); a resumed
   session says which items it holds already, and those changes are skipped;
2. settings, catalog, notes, segments (created), sensors (concurrently);
3. files, and labels that bring mask files, in plan order, :data:`WINDOW` at a time: content
   the remote lacks is sent and the files registered in batches as their content is stored
   (:mod:`labelsync.engine.transfer`); a window is done (sent and registered) before the
   next starts, so a change whose content an earlier window sent needs nothing, and the
   engine's per-change lists, dicts and sets are bounded by the window, not the plan (the
   plan's compact runs, :mod:`labelsync.plan.changelist`, are built into changes one window
   at a time). A session that does not reuse content takes each segment at once;
4. the other label changes, in batches, concurrently;
5. deletions (only planned with prune): files, then sensors, then segments;
6. ``commit`` (message, provenance, the plan's tag), and ``close`` always.

The engine counts the results (files written, sent, not sent and why, bytes) and reports
progress through :class:`~labelsync.providers.session.ApplyEvents`; it never prints.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import groupby, islice

from labelsync import phases
from labelsync.engine.connect import Connections
from labelsync.engine.presend import Presend
from labelsync.engine.transfer import transfer_segment
from labelsync.errors import PlanError
from labelsync.plan.changelist import ChangeList, FileRun
from labelsync.plan.model import Action, Change, DatasetPlan, FileChange, Kind, Plan, Replacement
from labelsync.providers.session import ApplyEvents, ApplyOptions, ApplyResult, Session
from labelsync.state import Item, item_fingerprint

METADATA = (Kind.SETTINGS, Kind.CATALOG, Kind.NOTES)
"""Dataset-level changes, put one by one in this order before segments and sensors."""

WINDOW = 10_000
"""File changes the transfer takes at a time (a session that reuses content)."""

Held = Mapping[str, Mapping[str, Item]]


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
    held: Held = {}
    with phases.phase("apply: open (lock, checks)"):
        # raises StalePlanError (having released what it took) when the remote moved
        opened = presend.result() if presend is not None else session.open()
    present: Container[str] = presend.stored if presend is not None else set()
    messages = list(opened.messages)
    try:
        if opened.held:
            held = opened.held
            by_kind = _skip_held(by_kind, held)
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
            # file changes, and label changes that bring mask files, are streamed (``_registered``)
            with phases.phase("apply: files (send, register)"):
                registered, files_sent, bytes_sent = _transfer(session, plan, held, events, pool, presend=present)
            if presend is not None:
                files_sent += presend.files_sent
                bytes_sent += presend.bytes_sent
            not_sent = _not_sent(plan, held) if session.reuses_content else []
            if not_sent:
                events.message(f"{plan.name}: not sent: {'; '.join(not_sent)}")
            with phases.phase("apply: labels, deletions"):
                _labels(session, by_kind.get(Kind.LABEL, []), events, pool)
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
        files_registered=registered,
        not_sent=tuple(not_sent),
        changes_applied=len(plan.changes),
        resumed=opened.resumed,
        messages=tuple(messages),
    )


def _by_kind(plan: DatasetPlan) -> dict[Kind, list[Change]]:
    """The plan's changes per kind, except those the transfer streams (:func:`_registered`):
    file creates and updates, label changes with mask files, a replace's files."""
    by_kind: dict[Kind, list[Change]] = {}
    changes = plan.changes
    for change in changes.small() if isinstance(changes, ChangeList) else changes:
        if not _streamed(change):
            by_kind.setdefault(change.kind, []).append(change)
    return by_kind


def _streamed(change: Change) -> bool:
    if change.kind is Kind.FILE:
        return change.action is not Action.DELETE
    return change.kind is Kind.LABEL and isinstance(change.after, FileChange) and bool(change.after.masks)


def _parts(plan: DatasetPlan, held: Held) -> Iterator[Change | FileRun]:
    """The streamed changes in plan order; a compact run whose segment nothing is held of
    stays a run (the counting passes read its columns), a replace gives its files."""
    changes = plan.changes
    for part in changes.parts if isinstance(changes, ChangeList) else (changes,):
        if isinstance(part, FileRun) and not held.get(part.segment):
            yield part
            continue
        for change in part:
            if isinstance(change.after, Replacement):
                for f in change.after.items:
                    yield Change(Action.CREATE, Kind.FILE, f"{change.address}/file.{f.remote_path}", segment="", after=f)
            elif _streamed(change) and not _is_held(change, held):
                yield change


def _registered(plan: DatasetPlan, held: Held) -> Iterator[Change]:
    """The changes the transfer sends and registers, in plan order, one at a time."""
    for part in _parts(plan, held):
        if isinstance(part, FileRun):
            yield from part
        else:
            yield part


def _windows(changes: Iterator[Change], size: int | None) -> Iterator[tuple[str, list[Change]]]:
    """``(segment, changes)``: runs of one segment, at most ``size`` long (``None``: each
    segment whole, its changes gathered from the whole plan)."""
    if size is None:
        by_segment: dict[str, list[Change]] = {}
        for change in changes:
            by_segment.setdefault(str(change.segment), []).append(change)
        yield from by_segment.items()
        return
    for segment, run in groupby(changes, key=lambda c: str(c.segment)):
        while chunk := list(islice(run, size)):
            yield segment, chunk


def _note(messages: list[str], note: str | None) -> None:
    if note:
        messages.append(note)


def _transfer(
    session: Session, plan: DatasetPlan, held: Held, events: ApplyEvents, pool: ThreadPoolExecutor, *, presend: Container[str]
) -> tuple[int, int, int]:
    """Send and register the streamed changes window by window; ``(changes registered, data
    files sent, bytes sent)``."""
    count = nbytes = 0
    for part in _parts(plan, held):
        count += len(part) if isinstance(part, FileRun) else 1
        nbytes += part.nbytes if isinstance(part, FileRun) else part.upload_bytes
    if not count:
        return 0, 0, 0
    # a replace's files carry no bytes of their own: the replace change counts them
    events.files_planned(count, nbytes or plan.upload_bytes())
    reuse = session.reuses_content
    files = total = 0
    current: str | None = None
    for segment, window in _windows(_registered(plan, held), WINDOW if reuse else None):
        if segment != current:
            events.phase(segment, "files")
            current = segment
        referenced: set[str] = set()
        to_send: set[str] = set()
        if reuse:
            for change in window:
                f = change.after
                referenced.add(f.blob.checksum)
                referenced.update(m.blob.checksum for m in f.masks)
                to_send.update(f.send)
        # held on the remote: found there by the differ, sent by an earlier window, or stored by the pre-send
        remote_blobs = (referenced - to_send) | {c for c in referenced if c in presend}
        n, b = transfer_segment(session, segment, window, remote_blobs=remote_blobs, events=events, pool=pool)
        files += n
        total += b
    return count, files, total


def _sends(plan: DatasetPlan, held: Held) -> Iterator[tuple[bool, str, Sequence[str]]]:
    """``(label change, data checksum, send list)`` of each streamed change (runs from columns)."""
    for part in _parts(plan, held):
        if isinstance(part, FileRun):
            for checksum, sends in part.checksums():
                yield False, checksum, (checksum,) if sends else ()
        else:
            yield part.kind is Kind.LABEL, part.after.blob.checksum, part.after.send


def _not_sent(plan: DatasetPlan, held: Held) -> list[str]:
    """Why the registered files whose data is not sent need no upload, counted per reason
    (the plan's ``send`` lists say which change sends which content). Three passes over the
    streamed changes, so that no set holds every checksum of the plan: only the content of
    files that do not send their own."""
    others = {checksum for label, checksum, send in _sends(plan, held) if not label and checksum not in send}
    sent_by_some = {s for _, _, send in _sends(plan, held) for s in send if s in others} if others else set()
    seen: set[str] = set()
    same = remote = labels = 0
    for label, checksum, send in _sends(plan, held):
        if label:
            labels += 1  # a label change with new mask files: the data file is unchanged
        elif checksum in send or checksum in sent_by_some:
            if checksum not in seen:
                if checksum in sent_by_some:
                    seen.add(checksum)  # only these are asked about again
            else:
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


def _skip_held(by_kind: dict[Kind, list[Change]], held: Held) -> dict[Kind, list[Change]]:
    """Drop the label changes whose item a resumed session holds exactly (the streamed
    changes are filtered as they are streamed, by :func:`_parts`)."""
    out = dict(by_kind)
    for kind in (Kind.FILE, Kind.LABEL):
        if kind in out:
            out[kind] = [c for c in by_kind[kind] if not _is_held(c, held)]
    return out


def _is_held(change: Change, held: Held) -> bool:
    """True when a resumed session holds exactly the item a file or label change writes."""
    if not held or change.kind not in (Kind.FILE, Kind.LABEL):
        return False
    f = change.after
    have = held.get(str(change.segment), {}).get(f.remote_path) if isinstance(f, FileChange) else None
    return have is not None and item_fingerprint(have) == f.fingerprint()
