"""Sending a new dataset's content while the tree is still being hashed (``apply --auto-approve``).

Without a saved plan, apply hashes the whole tree, reads the remote, plans, and only then
opens the dataset and uploads. For a dataset the remote does not hold (an initial apply:
one cheap look-up at the first digest chunk, :class:`~labelsync.providers.session.AbsenceProbe`),
every local blob is
content the remote lacks, so :func:`start_overlap` opens the session at once for a
*provisional* plan (create the dataset, take the lock) on a worker thread, and every digest
chunk the hash cache yields (:attr:`~labelsync.local.hashcache.HashCache.on_chunk`) is fed
to the session's content-addressed store (:class:`~labelsync.providers.session.BlobStore`)
as the rest is hashed. Once the plan is made (from the probe's live state, so it is the plan
a plain apply makes), :meth:`Overlap.adopt` hands it to the session and
:func:`labelsync.engine.apply.apply_plan` carries on with the opened session (``presend=``):
the uploads in flight finish, and the engine's transfer sends the rest, registering files
as their blobs are stored, skipping every blob already stored.

A tree large enough to be walked in parallel is hashed inside the scan when the cache knows
nothing of it (:func:`labelsync.local.scan.scan_dir`'s ``prehash``), and its digests come all
at once, at the end. For such a tree, :meth:`Overlap.streams` (asked by the scan, during
validation) runs the probe alone: when the dataset is absent the scan leaves the hashing to
the cache, whose chunks are sent as they come, so the first uploads start once the walk is
done, not once the whole tree is hashed; an existing dataset's tree is hashed in the scan.

Guarantees:

* the plan printed is the plan applied: it is made from the live state read before anything
  was written, and the session adopts it before anything is registered or committed;
* nothing is registered or committed before the plan is complete: until :meth:`adopt`, only
  blobs are stored (and the dataset created and locked, as the plan's first step does);
* a blob stored here that the plan turns out not to need (a file the manifest filters out
  later, a plan refused) is harmless: the store is content-addressed, so it is an object
  under its own checksum that no file references and no commit includes;
* a stale remote still refuses: someone who creates or commits to the dataset after the
  look-up makes the session's ``open`` (creation, lock, head check) raise
  :class:`~labelsync.errors.StalePlanError`, as in a plain apply; nothing was registered;
* a kill leaves a resumable state: before :meth:`adopt` the lock is held for no plan
  (``pending``), so the next apply closes that draft and opens its own (the dataset, empty,
  is resumed into) and sends again what was stored in that window (the remote has no cheap
  way to list stored blobs); after it, the lock names the plan's digest and the next apply
  resumes the draft, sending only what it does not hold.

Memory: the blobs seen are the pre-send's one dict entry per distinct blob (keyed by the
20-byte digest, :attr:`~labelsync.engine.presend.Presend.blobs`); the queue holds each fed
blob as columns (digest, size, relative path), and a :class:`BlobTransfer` is built only for
the :data:`~labelsync.engine.presend.BATCH` blobs of the round being sent.
"""

from __future__ import annotations

import os
import threading
from array import array
from collections import deque
from collections.abc import Callable
from pathlib import Path

from labelsync.engine.presend import BATCH, QUEUED, Presend
from labelsync.plan.model import Action, BlobTransfer, Change, DatasetPlan, Kind
from labelsync.providers.session import BlobStore, Session
from labelsync.state import Live

PENDING_DIGEST = "pending"
"""The desired digest of the provisional plan: no real plan has it, so a draft locked for it
is never resumed by another plan (see the module docstring)."""


class Overlap(Presend):
    """A pre-send fed by the hash cache while the tree is hashed (see the module docstring).

    Nothing happens until the first digest chunk arrives (an unchanged tree whose digest is
    remembered hashes nothing, and makes no request for this) or :meth:`start` or
    :meth:`streams` is called: then, on a worker thread, the probe looks the dataset up; only
    when it is absent, and once :meth:`start` (or a chunk) allows it, is the session opened
    and fed. Looked up but never started, it opens nothing (:meth:`engaged`, :meth:`cancel`).
    """

    def __init__(self, plan: DatasetPlan, session: Session, root: Path, probe: Callable[[], Live | None]) -> None:
        super().__init__(plan=plan, session=session)
        self.root = os.path.abspath(root)
        self._prefix = os.path.join(self.root, "")  # a path under the root, as scanned, is this plus its relative path
        self.live: Live | None = None
        """The live state the plan must be made from (read before anything was written)."""
        self._probe = probe
        self._probed = threading.Event()
        self._go = threading.Event()  # set by start(): the open may follow the probe
        self._declined = False
        self._disabled = False
        self._queue: deque[tuple[list[str], bytes, array[int]]] = deque()  # (relative paths, digests, sizes) per chunk
        self._ready = threading.Condition()
        self._hashed = False

    def feed(self, paths: list[str], digests: bytes, sizes: list[int]) -> None:
        """A :attr:`~labelsync.local.hashcache.HashCache.on_chunk` callback: queue the blobs
        not seen yet (on the hashing thread; never blocks on the network)."""
        if not self.start():
            return
        rels: list[str] = []
        sums = bytearray()
        lengths = array("q")
        seen, prefix, cut = self.blobs, self._prefix, len(self._prefix)
        digests = bytes(digests)
        for k, path in enumerate(paths):
            key = digests[20 * k : 20 * k + 20]
            if key not in seen:
                seen[key] = QUEUED
                rels.append(path[cut:] if path.startswith(prefix) else os.path.relpath(path, self.root))
                sums += key
                lengths.append(sizes[k])
        if rels:
            with self._ready:
                self._queue.append((rels, bytes(sums), lengths))
                self._ready.notify()

    def start(self) -> bool:
        """Start the probe (and, for an absent dataset, the session's open) now; False when
        the overlap is off. :meth:`feed` calls it at the first chunk; a caller that knows the
        tree will be hashed (the cache holds nothing under it) calls it before hashing, so
        the probe and the open run beside the hashing instead of after its first chunk."""
        with self._ready:
            if self._disabled or self._declined:
                return False
            self._launch()
            self._go.set()
        return True

    def streams(self, base: str) -> bool:
        """Whether the dataset is absent, so that its tree (``base``, a data directory the
        hash cache knows nothing of) is better hashed by the cache in chunks that are sent as
        they come than inside the scan, all at once. Runs the probe (not the open: the
        manifests are not validated yet) and waits for it; a probe that fails says False."""
        del base  # one dataset: every data directory of its manifest is streamed alike
        with self._ready:
            if self._disabled:
                return False
            self._launch()
        self._probed.wait()
        return not self._declined

    def _launch(self) -> None:
        """Start the worker thread, once (with ``_ready`` held): the probe, then the open
        once :meth:`start` allows it."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="labelsync-overlap", daemon=True)
            self._thread.start()

    def _take(self, limit: int) -> list[BlobTransfer]:
        """Up to ``limit`` queued blobs, oldest first, as transfers (with ``_ready`` held)."""
        out: list[BlobTransfer] = []
        queue = self._queue
        while queue and len(out) < limit:
            rels, sums, sizes = queue.popleft()
            n = min(len(rels), limit - len(out))
            out += [BlobTransfer(sums[20 * k : 20 * k + 20].hex(), sizes[k], rels[k]) for k in range(n)]
            if n < len(rels):
                queue.appendleft((rels[n:], sums[20 * n :], sizes[n:]))
        return out

    def engaged(self) -> bool:
        """Called once hashing is done, before planning: True when the dataset was found
        absent and the session opened for it (then plan from :attr:`live` and :meth:`adopt`);
        False otherwise (nothing was written; later chunks are ignored)."""
        with self._ready:
            if self._thread is None or not self._go.is_set():  # never started (only looked up)
                self._disabled = True
                self._go.set()  # a thread waiting after its probe ends without opening
                return False
        self._probed.wait()
        return not self._declined

    def _run(self) -> None:
        try:
            self.live = self._probe()
        except Exception:  # noqa: BLE001 - the plain apply reads the remote again and reports it
            self.live = None
        if self.live is None:
            with self._ready:
                self._declined = True
                self._queue.clear()
            self._probed.set()
            return
        self._probed.set()
        self._go.wait()
        if self._disabled:  # only looked up, then not needed (engaged(), cancel())
            return
        super()._run()

    def hashed(self) -> None:
        """The tree is hashed: nothing more will be fed; the queue is sent out."""
        with self._ready:
            self._hashed = True
            self._ready.notify()

    def adopt(self, plan: DatasetPlan) -> None:
        """Stop the pre-send (the uploads in flight finish and count; what was not started is
        left to the engine's transfer, which registers files as their blobs are stored), then
        make ``plan`` (complete) the session's plan; raises what the pre-send or the adoption
        raised (the session is then closed)."""
        self._stop.set()
        self.hashed()
        self.result()
        store = self.session
        assert isinstance(store, BlobStore)
        try:
            store.adopt(plan)
        except BaseException as exc:
            self.error = self.session.close(exc) or exc  # closed: cancel() does not close again
            raise
        self.plan = plan

    def cancel(self, error: BaseException | None) -> None:
        self.hashed()
        with self._ready:
            if not self._go.is_set():  # only looked up: the open never starts
                self._disabled = True
                self._go.set()
        super().cancel(error)

    def _send(self) -> None:
        while not self._stop.is_set():
            with self._ready:
                while not self._queue and not self._hashed and not self._stop.is_set():
                    self._ready.wait(0.05)
                blobs = self._take(BATCH)
                last = self._hashed
            self.send_blobs(blobs)  # everything queued meanwhile goes in the next round
            if last and not self._queue:
                return


def provisional_plan(*, name: str, remote: str, provider: str, kind: str, branch: str, settings: dict[str, object], tag: str | None) -> DatasetPlan:
    """The plan of a dataset the remote does not hold, before its items are known: create it
    (with its kind and settings, as the differ plans it) at base None."""
    create = Change(Action.CREATE, Kind.DATASET, f"dataset.{name}", after={"kind": kind, "settings": dict(settings)})
    return DatasetPlan(
        name=name, remote=remote, provider=provider, kind=kind, base=None, desired_digest=PENDING_DIGEST,
        changes=(create,), branch=branch, tag=tag,
    )


def start_overlap(
    probe: Callable[[], Live | None], session_for: Callable[[DatasetPlan], Session], plan: DatasetPlan, root: Path
) -> Overlap | None:
    """An :class:`Overlap` for the provisional ``plan`` when the session ``session_for(plan)``
    gives (nothing is written until ``open``) is a :class:`BlobStore`; else None. ``probe()``
    says whether the dataset is absent (see :class:`~labelsync.providers.session.AbsenceProbe`);
    it runs at the first digest chunk."""
    session = session_for(plan)
    if not isinstance(session, BlobStore):
        return None
    return Overlap(plan, session, root, probe)
