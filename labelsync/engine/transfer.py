"""Sending content and registering files, for one window of one segment of an apply session
(the engine hands over at most ``engine.apply.WINDOW`` changes at a time).

1. every distinct blob (file or mask, by SHA-1) that a planned file needs and the remote
   lacks is handed to :meth:`Session.transfer`, which sends them concurrently (e.g.
   the asyncio upload engine, ``--jobs`` at a time) and reports each one as stored;
2. as soon as all blobs of a file are stored (collected every :data:`POLL_SECONDS`, at once
   on a failure or the last blob), the file joins the pending batch; a full batch
   (:meth:`Session.register_batch`) is registered on the worker pool while the uploads go
   on, and a partial batch once it waited :data:`FLUSH_SECONDS`; the rest at the end.

Identical content under two paths is sent once. A failure stops the segment after the
in-flight work settles and raises; what was registered stays with the session (a draft) and
a re-run resumes from there. No per-file object is made beyond the plan's own changes and
one :class:`BlobTransfer` per blob.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from queue import Empty, SimpleQueue

from labelsync.errors import ApplyError
from labelsync.plan.model import BlobTransfer, Change, FileChange
from labelsync.providers.session import ApplyEvents, Session

FLUSH_SECONDS = 2.0
"""A partial batch is registered once it has waited this long."""


POLL_SECONDS = 0.05
"""The engine collects stored blobs this often (sooner on a failure or the last blob): one
wake-up per poll instead of one thread switch per blob on the upload thread's hot path."""


class _Report:
    """The :class:`~labelsync.providers.session.TransferReport` of one segment: bytes go to
    the progress display and the count, stored blobs onto the engine's queue; ``wake`` is set
    on a failure and once ``expected`` blobs were reported."""

    def __init__(self, events: ApplyEvents, expected: int) -> None:
        self.events = events
        self.queue: SimpleQueue[tuple[str, BaseException | None, bool]] = SimpleQueue()
        self.wake = threading.Event()
        self.bytes = 0
        self.expected = expected
        self._reported = 0
        self._lock = threading.Lock()

    def sent(self, n: int, *, display: bool = True) -> None:
        with self._lock:
            self.bytes += n
        if display:
            self.events.bytes_sent(n)

    def stored(self, checksum: str, error: BaseException | None = None, *, sent: bool = True) -> None:
        self.queue.put((checksum, error, sent))
        with self._lock:
            self._reported += 1
            last = self._reported >= self.expected
        if error is not None or last:
            self.wake.set()

    def drain(self) -> list[tuple[str, BaseException | None, bool]]:
        """What was reported since the last drain (never blocks)."""
        out = []
        while True:
            try:
                out.append(self.queue.get_nowait())
            except Empty:
                return out


def transfer_segment(
    session: Session,
    segment: str,
    changes: Sequence[Change],
    *,
    remote_blobs: set[str],
    events: ApplyEvents,
    pool: ThreadPoolExecutor,
) -> tuple[int, int]:
    """Send and register ``changes`` (file changes, and label changes with mask files) of
    ``segment``; returns ``(data files whose content was sent, bytes sent)``.

    ``remote_blobs`` are checksums already stored (updated as blobs are stored); ignored when
    the session does not reuse content. Returns once every change was registered (or raises):
    the next window may take what this one stored as held.
    """
    if not changes:
        return 0, 0
    batch_size = max(1, session.register_batch(segment, False))
    reuse = session.reuses_content
    waiting: dict[str, list[Change]] = {}
    pending: dict[str, BlobTransfer] = {}
    missing_of: dict[int, int] = {}
    batch: list[Change] = []
    data_blobs: set[str] = set()
    for change in changes:
        f = change.after
        assert isinstance(f, FileChange)
        need = 0
        data_blobs.add(f.blob.checksum)
        for blob in f.transfers():
            if reuse and blob.checksum in remote_blobs:
                continue
            need += 1
            waiting.setdefault(blob.checksum, []).append(change)
            pending.setdefault(blob.checksum, blob)
        missing_of[id(change)] = need
        if need == 0:
            batch.append(change)

    sent_files = 0
    callbacks: list[Future[None]] = []
    errors: list[BaseException] = []

    def register(chunk: list[Change]) -> None:
        session.register(segment, chunk)
        for c in chunk:
            f = c.after
            events.file_done(f.remote_path, f.blob.size, True)

    last_flush = time.monotonic()

    def flush(force: bool) -> None:
        nonlocal batch, last_flush
        if batch and time.monotonic() - last_flush >= FLUSH_SECONDS:
            force = True
        while batch and (force or len(batch) >= batch_size):
            chunk, batch = batch[:batch_size], batch[batch_size:]
            callbacks.append(pool.submit(register, chunk))
            last_flush = time.monotonic()

    blobs = list(pending.values())
    report = _Report(events, len(blobs))
    files = [c.after for c in changes]
    transfer = session.transfer(segment, files, blobs, report) if blobs else None
    try:
        outstanding = len(blobs)
        while transfer is not None and outstanding and not errors:
            flush(False)
            transfer.tick()
            report.wake.wait(POLL_SECONDS)
            report.wake.clear()
            stored = report.drain()
            if not stored:
                if transfer.done() and report.queue.empty():  # the transfer stopped, some blobs unreported
                    transfer.wait()
                    raise ApplyError("the upload engine stopped before reporting every file", hint="run apply again: it resumes") from None
                continue
            for checksum, error, sent in stored:
                outstanding -= 1
                if error is not None:
                    errors.append(error)
                    continue
                remote_blobs.add(checksum)
                sent_files += sent and checksum in data_blobs
                for change in waiting.pop(checksum, []):
                    missing_of[id(change)] -= 1
                    if missing_of[id(change)] == 0:
                        batch.append(change)
    except BaseException:
        if transfer is not None:
            transfer.stop()  # interrupted: start nothing more; closing the client cancels the rest
        raise
    if transfer is not None:
        transfer.stop()
        transfer.wait()  # let the transfers in flight settle before reporting a failure
    if not errors:
        flush(True)
    for cb in callbacks:
        exc = cb.exception()
        if exc is not None:
            errors.append(exc)
    if errors:
        raise errors[0]
    return sent_files, report.bytes
