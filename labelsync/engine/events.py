"""Progress hooks of apply: the engine and providers report, a display decides what to show.

The engine never prints. It calls an :class:`ApplyEvents` (terraform's hooks, dvc-data's
callbacks); the CLI passes :func:`labelsync.engine.progress.make_progress`, tests pass a
recorder, and everything else gets :class:`NullEvents`.

Threading contract: ``file_done`` and ``bytes_sent`` may be called from upload worker
threads concurrently; an implementation must be thread-safe for them. The other methods are
called from the thread running apply.

Order per apply: for each dataset, ``phase`` as it enters each phase (``"catalog"``,
``"segments"``, ``"files"``, ``"labels"``, ``"commit"``, ...); ``files_planned`` once before
the uploads of a dataset start, each call starting a new count (totals of what will be
*sent*; files found already on the remote are either left out of the totals or reported
with ``uploaded=False``); ``file_done`` once per file; finally ``done``
once at the end of the whole apply, also after a failure, so a display can clean up.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class ApplyEvents(Protocol):
    """Receiver of apply progress. Every method returns quickly and never raises."""

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
