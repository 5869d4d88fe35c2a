"""Sending a saved plan's content while the local side is still being checked.

``apply PLANFILE`` re-reads and re-hashes the whole tree (the plan's local digest must still
hold) and re-reads the remote before it writes anything. :func:`start_presend` overlaps that
check with the upload of the plan's content: on a worker thread it opens the first dataset's
session (lock, stale check: :class:`~labelsync.errors.StalePlanError` when the remote moved)
and hands every blob the plan sends to the session's content-addressed store
(:class:`~labelsync.providers.session.BlobStore`), on any session that offers one.

Guarantees (kept by construction):

* nothing is registered or committed here, and no dataset is created (the check re-reads
  the remote, which must look as planned): only a dataset that exists is opened, and only blobs are stored, and only the blobs the
  saved plan's ``send`` lists name. The upload path reads each file and refuses one whose
  SHA-1 differs from the plan's, so only planned content is sent;
* a blob stored here that the apply then does not need (the check refused the plan, or
  another run registered the file) is harmless: the store is content-addressed, so the
  blob is an unreferenced object under its own checksum, never a file of the dataset;
* :func:`labelsync.engine.apply.apply_plan` takes the opened session over (``presend=``)
  and skips every blob stored here, so no blob is sent twice; a failure here surfaces from
  :meth:`Presend.result` (when apply takes the session over) and releases the lock;
* a kill during the overlap leaves the lock of *this* plan's digest and stored blobs: the
  next apply resumes the draft (and, registering nothing yet, resends what it needs).

Memory: what was stored is one dict entry per distinct blob (:attr:`Presend.blobs`, keyed by
the 20-byte digest), not sets of checksum strings; the blobs are handed to the store
:data:`BATCH` at a time as the plan is walked, never as one list of every blob.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from labelsync.columns import digest
from labelsync.engine.transfer import POLL_SECONDS, _Report
from labelsync.plan.changelist import FileRun, parts
from labelsync.plan.model import Action, BlobTransfer, DatasetPlan, FileChange, Kind, Plan, Replacement
from labelsync.providers.session import ApplyEvents, BlobStore, NullEvents, Opened, Session

BATCH = 10_000
"""Blobs handed to the store per round (the transfers of one round are held at once)."""

QUEUED, STORED, SENT, _COUNTING = 0, 1, 2, 3
"""States of a blob in :attr:`Presend.blobs`: queued (the overlap's feed saw it), stored,
stored with its bytes sent over the wire (it was not there yet)."""

BlobKey = bytes | str


def blob_key(checksum: str) -> BlobKey:
    """The key of a checksum in :attr:`Presend.blobs`: its 20 bytes when it is SHA-1 hex,
    else the checksum itself (so any provider's checksum works, exactly)."""
    return digest(checksum) or checksum


class StoredBlobs:
    """The checksums a pre-send stored, as a read-only ``Container[str]`` over its blobs."""

    __slots__ = ("_blobs",)

    def __init__(self, blobs: dict[BlobKey, int]) -> None:
        self._blobs = blobs

    def __contains__(self, checksum: object) -> bool:
        return isinstance(checksum, str) and self._blobs.get(blob_key(checksum), QUEUED) >= STORED

    def __len__(self) -> int:
        return sum(1 for state in self._blobs.values() if state >= STORED)


@dataclass
class Presend:
    """A running pre-send of one dataset plan (see the module docstring)."""

    plan: DatasetPlan
    session: Session
    opened: Opened | None = None
    blobs: dict[BlobKey, int] = field(default_factory=dict)
    """Each blob seen (:func:`blob_key`) -> its state (``QUEUED``, ``STORED``, ``SENT``)."""
    bytes_sent: int = 0
    error: BaseException | None = None
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def result(self) -> Opened:
        """Wait for the pre-send to settle; the session's :class:`Opened`, or raise what failed
        (the session is then closed). After this the caller owns the session (``close``)."""
        if self._thread is not None:
            self._thread.join()
        if self.error is not None:
            raise self.error
        assert self.opened is not None
        return self.opened

    @property
    def stored(self) -> StoredBlobs:
        """The checksums stored by the pre-send (read after :meth:`result`)."""
        return StoredBlobs(self.blobs)

    @property
    def files_sent(self) -> int:
        """Data files of :attr:`plan` whose content the pre-send sent (once per content).
        Two passes over the plan's data checksums (call after :meth:`result`): no set of them."""
        blobs, count = self.blobs, 0
        for key in _data_keys(self.plan):
            if blobs.get(key) == SENT:
                blobs[key] = _COUNTING  # counted once per content
                count += 1
        for key in _data_keys(self.plan):
            if blobs.get(key) == _COUNTING:
                blobs[key] = SENT
        return count

    def cancel(self, error: BaseException | None) -> None:
        """Stop sending, wait, and close the session (the apply is not going ahead)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.error is None and self.opened is not None:
            self.session.close(error)

    def _run(self) -> None:
        try:
            self.opened = self.session.open()  # raises StalePlanError (released) when stale
        except BaseException as exc:  # noqa: BLE001 - re-raised by result()
            self.error = exc
            return
        try:
            self._send()
        except BaseException as exc:  # noqa: BLE001 - re-raised by result()
            self.error = exc
            better = self.session.close(exc)
            self.error = better or exc

    def _send(self) -> None:
        blobs = planned_blobs(self.plan, self.opened, seen=self.blobs)
        while not self._stop.is_set() and (batch := list(islice(blobs, BATCH))):
            self.send_blobs(batch)

    def send_blobs(self, blobs: list[BlobTransfer]) -> None:
        """Store ``blobs`` through the session's :class:`BlobStore`; returns once every one
        was reported (or the pre-send was stopped); raises the first failure."""
        store = self.session
        assert isinstance(store, BlobStore)
        if not blobs or self._stop.is_set():
            return
        report = _Report(NullEvents(), len(blobs))
        transfer = store.presend(blobs, report)
        errors: list[BaseException] = []
        try:
            outstanding = len(blobs)
            while outstanding and not errors and not self._stop.is_set():
                transfer.tick()
                report.wake.wait(POLL_SECONDS)
                report.wake.clear()
                stored = report.drain()
                if not stored and transfer.done() and report.queue.empty():
                    break  # stopped before reporting every blob: the apply sends the rest
                outstanding -= len(stored)
                errors += self._count(stored)
        finally:
            transfer.stop()
            transfer.wait()
        errors += self._count(report.drain())
        self.bytes_sent += report.bytes
        if errors:
            raise errors[0]

    def _count(self, stored: list[tuple[str, BaseException | None, bool]]) -> list[BaseException]:
        errors = []
        blobs = self.blobs
        for checksum, error, sent in stored:
            if error is not None:
                errors.append(error)
                continue
            key = blob_key(checksum)
            if blobs.get(key) != SENT:
                blobs[key] = SENT if sent else STORED
        return errors


def _data_keys(plan: DatasetPlan) -> Iterator[BlobKey]:
    """The key of each data file's content (a file change's, a replace's files'), repeats included."""
    for part in parts(plan.changes):
        if isinstance(part, FileRun):
            sums = part.table.sums
            yield from (bytes(sums[20 * r : 20 * r + 20]) for r in part.rows)
        elif isinstance(part.after, FileChange):
            yield blob_key(part.after.blob.checksum)
        elif isinstance(part.after, Replacement):
            yield from (blob_key(f.blob.checksum) for f in part.after.items)


def planned_blobs(plan: DatasetPlan, opened: Opened | None, *, seen: dict[BlobKey, int] | None = None) -> Iterator[BlobTransfer]:
    """The distinct blobs the plan's ``send`` lists name, in plan order, except those of
    items a resumed session holds already (by remote path: a held item is skipped by apply
    anyway). ``seen`` (default: a new dict) records each blob given as ``QUEUED``; a blob
    already in it is not given again."""
    held = opened.held if opened is not None else {}
    out: dict[BlobKey, int] = {} if seen is None else seen
    for change in plan.changes:
        after = change.after
        if isinstance(after, Replacement):
            files: list[FileChange] = list(after.items)
        elif change.kind in (Kind.FILE, Kind.LABEL) and change.action is not Action.DELETE and isinstance(after, FileChange):
            if after.remote_path in held.get(str(change.segment), {}):
                continue
            files = [after]
        else:
            continue
        for f in files:
            for blob in f.transfers():
                if blob.checksum in f.send:
                    key = blob_key(blob.checksum)
                    if key not in out:
                        out[key] = QUEUED
                        yield blob


def start_presend(plan: Plan, sessions: dict[str, Session], events: ApplyEvents | None = None) -> Presend | None:
    """Start the pre-send of the first dataset of ``plan`` with content to send, on the
    session ``sessions[name]`` when it is a :class:`BlobStore`; ``None`` when there is none
    (then nothing was opened). ``events`` is unused today (the pre-send shows no progress)."""
    del events
    for dp in plan.datasets:
        session = sessions.get(dp.name)
        if not dp.has_changes or session is None or not isinstance(session, BlobStore) or not dp.upload_bytes():
            continue
        if dp.remote_id is None or any(c.kind is Kind.DATASET for c in dp.changes):
            continue  # never create a dataset ahead of the check, which re-reads the remote
        pre = Presend(plan=dp, session=session)
        pre._thread = threading.Thread(target=pre._run, name="labelsync-presend", daemon=True)
        pre._thread.start()
        return pre
    return None
