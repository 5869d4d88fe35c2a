"""The apply session: what a provider offers the engine to write one dataset's plan.

The engine (:mod:`labelsync.engine.apply`) owns apply: it orders the changes by kind, runs
transfers and registrations concurrently, skips what a resumed session already did, reports
progress and counts the results. A provider only offers a :class:`Session` per dataset plan
(``Provider.session(plan, options, events)``), called in this order::

    open()                      once: create the dataset if planned, take the lock, check
                                the plan is not stale (after the lock), say what a resumed
                                run already did
    put(change)                 metadata: settings, catalog, notes, segment, sensor
    presend(blobs, report)      optional (:class:`BlobStore`): content-addressed blobs,
                                sent before the plan is checked through; never registers
    transfer(...)               send content the remote lacks (concurrently), per segment
    register(segment, changes)  file and label changes, in batches of register_batch()
    delete(change)              prune: files, then sensors, then segments
    commit(message, source)     the new revision (message, provenance, the plan's tag)
    close(error)                always, also after a failure: release the lock

This module is pure (protocols and dataclasses, no I/O), so providers depend on it and
never on the engine. The engine's progress display implements :class:`ApplyEvents`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from labelsync.errors import StalePlanError, UsageError
from labelsync.plan.model import BlobTransfer, Change, DatasetPlan, FileChange
from labelsync.state import Item, Live

DEFAULT_JOBS = 32
"""Concurrent uploads unless ``--jobs`` says otherwise: on a 20 ms round trip, 32 small
uploads in flight keep a 2-core machine busy (benchmarks/README.md); more adds little."""


@runtime_checkable
class ApplyEvents(Protocol):
    """Receiver of apply progress. Every method returns quickly and never raises.

    Threading contract: ``file_done`` and ``bytes_sent`` may be called from worker threads
    concurrently; an implementation must be thread-safe for them. The other methods are
    called from the thread running apply.

    Order per apply: for each dataset, ``phase`` as it enters each phase (``"catalog"``,
    ``"segments"``, ``"files"``, ``"labels"``, ``"commit"``, ...); ``files_planned`` once
    before the uploads of a dataset start, each call starting a new count; ``file_done``
    once per file registered through the transfer path; ``done`` once at the end of the
    whole apply, also after a failure, so a display can clean up.
    """

    def phase(self, dataset: str, name: str) -> None:
        """``dataset`` enters phase ``name`` (e.g. ``"files"``)."""

    def files_planned(self, total_files: int, total_bytes: int) -> None:
        """Start counting towards these totals (called once per dataset with files to send)."""

    def file_done(self, remote_path: str, nbytes: int, uploaded: bool) -> None:
        """One file finished: ``nbytes`` its size; ``uploaded`` False when nothing had to be sent."""

    def bytes_sent(self, n: int) -> None:
        """``n`` more bytes went over the wire (partial progress inside a large file)."""

    def message(self, text: str) -> None:
        """A one-line note for the user (resumed draft, waiting for processing, ...)."""

    def done(self) -> None:
        """The apply ended (successfully or not); release the display."""


class NullEvents:
    """An :class:`ApplyEvents` that ignores everything (the default)."""

    def phase(self, dataset: str, name: str) -> None:
        pass

    def files_planned(self, total_files: int, total_bytes: int) -> None:
        pass

    def file_done(self, remote_path: str, nbytes: int, uploaded: bool) -> None:
        pass

    def bytes_sent(self, n: int) -> None:
        pass

    def message(self, text: str) -> None:
        pass

    def done(self) -> None:
        pass


@dataclass(frozen=True)
class ApplyOptions:
    """How to apply, for every provider: concurrency, commit message and provenance.

    ``root`` is the directory the plan's ``source`` paths are relative to. ``source`` is
    provenance recorded with the commit (``{"repository", "commit"}``). ``provider_options``
    are options only some providers know (e.g. Deepen's ``wait``/``timeout``); each session
    validates them with :func:`provider_options` and refuses keys it does not know.
    """

    root: Path
    jobs: int = DEFAULT_JOBS
    message: str = ""
    source: Mapping[str, str] = field(default_factory=dict)
    provider_options: Mapping[str, Any] = field(default_factory=dict)


def provider_options(options: ApplyOptions, provider: str, known: Mapping[str, tuple[type, ...]]) -> dict[str, Any]:
    """``options.provider_options`` checked against ``known`` (key -> accepted types);
    :class:`UsageError` naming the provider for an unknown key or a value of the wrong type."""
    out: dict[str, Any] = {}
    for key, value in options.provider_options.items():
        types = known.get(key)
        if types is None:
            accepted = ", ".join(sorted(known)) or "none"
            raise UsageError(f"{provider} has no apply option {key!r}", hint=f"its options: {accepted}")
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            raise UsageError(f"{provider} apply option {key!r} must be {' or '.join(t.__name__ for t in types)}, not {value!r}")
        out[key] = value
    return out


@dataclass(frozen=True)
class ApplyResult:
    """What an apply did for one dataset (counted by the engine)."""

    name: str
    revision: str | None
    """The new head (tensorbay commit id; deepen dataset id)."""
    files_uploaded: int = 0
    """Data files whose content was sent (identical content counts once)."""
    bytes_uploaded: int = 0
    files_registered: int = 0
    """Data files written to the remote, sent or not."""
    not_sent: tuple[str, ...] = ()
    """Why the registered files that were not sent needed no upload, one count each."""
    changes_applied: int = 0
    resumed: bool = False
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Opened:
    """What :meth:`Session.open` found.

    ``resumed``: the session continues an interrupted apply of this plan. ``held``: the
    items that resumed session already holds, per segment per remote path; the engine skips
    file and label changes whose item is held exactly (by fingerprint). ``messages``: notes
    for the result (e.g. "resumed draft #3").
    """

    resumed: bool = False
    held: Mapping[str, Mapping[str, Item]] = field(default_factory=dict)
    messages: tuple[str, ...] = ()


class TransferReport(Protocol):
    """Where a transfer reports; thread-safe (called from the provider's upload threads)."""

    def sent(self, n: int, *, display: bool = True) -> None:
        """``n`` more bytes went over the wire (``display`` False: counted only, because the
        transfer showed its progress through ``ApplyEvents.bytes_sent`` itself)."""

    def stored(self, checksum: str, error: BaseException | None = None, *, sent: bool = True) -> None:
        """The blob ``checksum`` is stored on the remote (or failed with ``error``); ``sent``
        False when its bytes were already there (a resumed upload that had finished)."""


class Transfer(Protocol):
    """A running transfer (returned at once by :meth:`Session.transfer`)."""

    def done(self) -> bool:
        """True once the transfer stopped (every blob reported, or stopped early)."""

    def tick(self) -> None:
        """Called by the engine every few seconds while it waits (e.g. renew credentials)."""

    def stop(self) -> None:
        """Start nothing more; blobs not started are not reported."""

    def wait(self) -> None:
        """Block until what is in flight settled."""


class Finished:
    """A :class:`Transfer` that ended before it was returned (every blob reported already)."""

    def done(self) -> bool:
        return True

    def tick(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def wait(self) -> None:
        pass


class Session(Protocol):
    """One apply of one dataset plan on one provider (see the module docstring).

    ``open`` releases what it took when it raises; ``close`` is called once ``open`` returned.
    ``reuses_content``: True when content the remote already holds need not be sent again
    (content-addressed storage); False when every file of the plan is sent whenever the
    dataset's content is written (the engine then transfers every file's blobs).
    """

    reuses_content: bool
    messages: list[str]
    """Notes for the result, appended as the session goes (read after ``close``)."""

    def open(self) -> Opened:
        """Create the dataset if the plan creates it, take the lock, then check (once, holding
        the lock) that the remote is still at the plan's base: :class:`StalePlanError` if not."""
        ...

    def put(self, change: Change) -> str | None:
        """Apply one settings, catalog, notes, segment or sensor change (create/update);
        returns a note for the result when the change could not be done as asked."""
        ...

    def transfer(self, segment: str, files: Sequence[FileChange], blobs: Sequence[BlobTransfer], report: TransferReport) -> Transfer:
        """Start sending ``blobs`` (distinct content the remote lacks) that ``files`` of
        ``segment`` need; each blob is reported once through ``report``."""
        ...

    def register_batch(self, segment: str, labels: bool) -> int:
        """How many changes one :meth:`register` call takes (``labels``: label-only changes)."""
        ...

    def register(self, segment: str, changes: Sequence[Change]) -> None:
        """Write file changes (whose blobs are stored) and label changes of ``segment``;
        thread-safe, called concurrently."""
        ...

    def delete(self, change: Change) -> None:
        """Delete one file, sensor or segment (prune); one already gone is not an error."""
        ...

    def commit(self, message: str, source: Mapping[str, str]) -> str | None:
        """Finish the apply: the new revision (commit id, dataset id)."""
        ...

    def close(self, error: BaseException | None) -> BaseException | None:
        """Always called last: release the lock. After a failure (``error``) it may return a
        clearer error to raise instead (e.g. another apply took the lock over)."""
        ...


@runtime_checkable
class BlobStore(Protocol):
    """Capability of a :class:`Session` whose content store is content-addressed: a blob is
    stored under its checksum, independently of any file, so it can be sent before the files
    that use it are registered (``apply PLANFILE`` sends while it still checks the plan:
    :mod:`labelsync.engine.presend`).

    A blob sent this way that the apply then does not register is harmless: it is an object
    under its own checksum, referenced by no file, and never part of a commit. Called once,
    after :meth:`Session.open` and before any other method; the engine then skips, in
    :meth:`Session.transfer`, every blob reported stored here.
    """

    def presend(self, blobs: Sequence[BlobTransfer], report: TransferReport) -> Transfer:
        """Start storing ``blobs`` (each reported once through ``report``); returns at once.
        May be called again once the previous transfer is done."""
        ...

    def adopt(self, plan: DatasetPlan) -> None:
        """Take ``plan``, now complete, over the provisional plan this session was opened for
        (``apply --auto-approve`` starts sending while the tree is still hashed:
        :mod:`labelsync.engine.overlap`); called before anything is registered. Raises
        :class:`StalePlanError` (releasing nothing: the engine closes the session) when
        ``plan`` is not for the dataset and base the session opened."""
        ...


@runtime_checkable
class AbsenceProbe(Protocol):
    """Capability of a provider: tell cheaply that a dataset does not exist, before the
    desired state is known (one read), so that a new dataset's content can be sent while the
    tree is still hashed."""

    def absent_live(self, name: str, branch: str) -> Live | None:
        """The :class:`~labelsync.state.Live` that ``read_live`` gives for dataset ``name``
        when it does not exist; None when it exists (or cannot be told cheaply)."""
        ...


def stale_plan(plan: DatasetPlan, current: str | None) -> StalePlanError:
    """The error for a dataset whose branch moved from the plan's base to ``current``."""

    def short(revision: str | None) -> str:
        return "nothing (no dataset)" if revision is None else revision[:12]

    return StalePlanError(
        f"plan is stale: dataset '{plan.name}'" + (f" branch '{plan.branch}'" if plan.branch else "") + " moved from "
        f"{short(plan.base)} to {short(current)} since the plan was made",
        hint="run `labelsync plan` again and review the new plan",
    )

