"""The open draft as the lock of a branch (one OPEN draft per branch, §6.3).

labelsync opens its draft with a title starting ``labelsync apply`` and a description line
``labelsync-lock: host=<h> pid=<p> run=<id> beat=<n> digest=<desired digest>``. While it
applies it rewrites that line every :data:`HEARTBEAT` seconds with ``beat`` incremented;
when an apply stops without committing, it writes ``beat=released``. When apply finds an
open draft on its branch:

* not opened by labelsync: someone else is writing; stop with a clear message;
* held by a live apply: stop. Liveness is decided without comparing clocks across hosts:
  on the same host by whether the pid runs; on another host by watching the draft for up
  to :data:`WATCH` seconds: a heartbeat that moves means alive;
* held by an apply that is gone (killed, or released after a failure):
  - opened for the same desired digest: take it over and resume (the draft holds part of
    exactly this plan);
  - opened for another digest: close it and open a fresh draft, because its partial
    content belongs to a different plan and must not be committed with this one.

A takeover is confirmed by reading the draft back :data:`SETTLE` seconds after writing the
lock line: when two runs race to take over the same dead draft, the one whose line was
overwritten stops before sending anything. (The API has no compare-and-swap: two runs whose
read-then-write windows are both shorter than SETTLE, the usual case, cannot both pass.)
Should a run find later that its draft was committed or taken over by another run (a write
refused, or the lock line no longer its own), :meth:`DraftLock.taken_over` turns that into
the same clear "another labelsync apply" error. Two applies racing to open a draft are
decided by the server, which refuses a second OPEN draft on a branch.

A sharded apply (``apply --prepare``) holds its draft beyond its process: after opening it,
:meth:`DraftLock.hold_for_shards` stops the heartbeat and writes ``beat=sharded``. Such a
draft is never taken over or replaced: every other apply (and another ``--prepare``) is
refused until ``--finish`` commits it, or the user closes it.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labelsync.errors import ConflictError, RemoteError
from labelsync.providers.tensorbay.client import TensorBayClient
from labelsync.providers.tensorbay.convert import DRAFT_TITLE_PREFIX

HEARTBEAT = 10.0
SETTLE = 1.0
"""Seconds between writing the lock line of a takeover and reading it back."""
WATCH = 25.0
"""How long to watch a lock held on another host for a heartbeat before calling it dead."""
SHARDED = "sharded"
_LOCK_RE = re.compile(r"labelsync-lock: host=(\S+) pid=(\d+) run=(\S+) beat=(\S+)(?: digest=(\S+))?")


@dataclass(frozen=True)
class Holder:
    """Who holds a draft, as its lock line says."""

    host: str
    pid: int
    run: str
    beat: str
    digest: str | None

    @property
    def released(self) -> bool:
        return self.beat == "released"

    @property
    def sharded(self) -> bool:
        """Held by a sharded apply (between ``--prepare`` and ``--finish``)."""
        return self.beat == SHARDED

    def runs_here(self) -> bool | None:
        """True/False when the holder is on this host (pid check); None for another host."""
        if self.host != socket.gethostname():
            return None
        if self.pid == os.getpid():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def parse_holder(description: str | None) -> Holder | None:
    m = _LOCK_RE.search(description or "")
    if not m:
        return None
    return Holder(m.group(1), int(m.group(2)), m.group(3), m.group(4), m.group(5))


def lock_line(run: str, beat: int | str, digest: str) -> str:
    return f"labelsync-lock: host={socket.gethostname()} pid={os.getpid()} run={run} beat={beat} digest={digest}"


class DraftLock:
    """Acquire (open, resume or replace) the branch's draft; keep the heartbeat while held."""

    def __init__(
        self,
        client: TensorBayClient,
        dataset_id: str,
        branch: str,
        digest: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.dataset_id = dataset_id
        self.branch = branch
        self.digest = digest
        self.run = uuid.uuid4().hex[:12]
        self.number: int | None = None
        self.resumed = False
        self.replaced: int | None = None
        """The number of a stale draft (another plan's) that was closed, if any."""
        self._sleep = sleep
        self._beat = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self, *, fresh: bool = False) -> int:
        """The draft number to write to; raises ConflictError when someone else holds the branch.

        ``fresh``: the dataset was created by this very run, so it has no draft of an
        interrupted run to resume: the draft is opened without listing the open ones first
        (a racing run's draft still makes the server refuse ours, reported as busy)."""
        drafts = [] if fresh else self.client.open_drafts(self.dataset_id, self.branch)
        if drafts:
            draft = drafts[0]
            holder = self._dead_holder(draft)
            if holder.digest == self.digest:
                self.number = self._take_over(draft)
                self.resumed = True
            else:
                self.replaced = int(draft["number"])
                self.client.update_draft(self.dataset_id, self.replaced, status="CLOSED")
        if self.number is None:
            title = f"{DRAFT_TITLE_PREFIX} {self.digest.removeprefix('sha256:')[:12]}"
            try:
                self.number = self.client.create_draft(self.dataset_id, self.branch, title, self._line())
            except ConflictError as exc:
                drafts = self.client.open_drafts(self.dataset_id, self.branch)
                raise _busy(self.branch, drafts[0] if drafts else {}, None) from exc
        self._thread = threading.Thread(target=self._beat_loop, name="labelsync-draft-heartbeat", daemon=True)
        self._thread.start()
        return self.number

    def set_digest(self, digest: str) -> None:
        """The held draft is now for the plan of ``digest`` (opened before it was known):
        the lock line says so at once, so a killed run's draft is resumed by the same plan."""
        self.digest = digest
        assert self.number is not None
        self.client.update_draft(self.dataset_id, self.number, description=self._line())

    def _line(self, beat: int | str | None = None) -> str:
        return lock_line(self.run, self._beat if beat is None else beat, self.digest)

    def _dead_holder(self, draft: dict[str, Any]) -> Holder:
        """The holder of ``draft`` when it is labelsync's and its holder is gone; else raise."""
        number = int(draft["number"])
        holder = parse_holder(draft.get("description"))
        if not str(draft.get("title", "")).startswith(DRAFT_TITLE_PREFIX) or holder is None:
            raise ConflictError(
                f"branch '{self.branch}' has an open draft #{number} ('{draft.get('title', '')}') that labelsync did not "
                "open: someone else is writing to this branch",
                hint="commit or close that draft, then run apply again",
            )
        if holder.sharded:
            raise ConflictError(
                f"branch '{self.branch}' is held by a sharded apply in draft #{number} (prepared on host {holder.host})",
                hint="finish it (labelsync apply SHARDS.json --finish), or close that draft to abandon it",
            )
        if holder.released:
            return holder
        here = holder.runs_here()
        if here is True:
            raise _busy(self.branch, draft, holder)
        if here is None and self._beats_elsewhere(number, holder):
            raise _busy(self.branch, draft, holder)
        return holder

    def _beats_elsewhere(self, number: int, holder: Holder) -> bool:
        """Watch a holder on another host: True when its heartbeat moves within WATCH seconds."""
        waited = 0.0
        while waited < WATCH:
            self._sleep(2.0)
            waited += 2.0
            current = self._find(number)
            if current is None:
                return True  # committed or closed meanwhile: someone is active
            now = parse_holder(current.get("description"))
            if now is None or now.run != holder.run or now.beat != holder.beat:
                return True
        return False

    def _find(self, number: int) -> dict[str, Any] | None:
        for d in self.client.open_drafts(self.dataset_id, self.branch):
            if int(d["number"]) == number:
                return d
        return None

    def _take_over(self, draft: dict[str, Any]) -> int:
        number = int(draft["number"])
        self.client.update_draft(self.dataset_id, number, description=self._line())
        self._sleep(SETTLE)
        confirmed = self._find(number)
        holder = parse_holder(confirmed.get("description")) if confirmed else None
        if holder is None or holder.run != self.run:
            raise _busy(self.branch, draft, holder)
        return number

    def taken_over(self) -> ConflictError | None:
        """After a failed write: the error to report when another run committed, closed or took
        over this draft meanwhile; None when the draft is still this run's (or unknown)."""
        if self.number is None or self._ours():
            return None
        return ConflictError(
            f"another labelsync apply committed or took over draft #{self.number} on branch '{self.branch}' "
            "while this one was writing to it",
            hint="plan again: the remote may already be in the desired state",
        )

    def _ours(self) -> bool:
        """Whether the draft is still open with this run's lock line (True when unknown)."""
        assert self.number is not None
        try:
            current = self._find(self.number)
        except RemoteError:
            return True
        holder = parse_holder(current.get("description")) if current else None
        return holder is not None and holder.run == self.run

    def _beat_loop(self) -> None:
        while not self._stop.wait(HEARTBEAT):
            self._beat += 1
            try:
                if not self._ours():
                    return  # committed, closed or taken over: never write over another run's line
                assert self.number is not None
                self.client.update_draft(self.dataset_id, self.number, description=self._line())
            except RemoteError:
                pass  # the next beat tries again; the apply itself reports real failures

    def hold_for_shards(self) -> None:
        """Keep the draft for a sharded apply: stop the heartbeat and mark the lock line
        ``beat=sharded`` (see the module docstring)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        assert self.number is not None
        self.client.update_draft(self.dataset_id, self.number, description=self._line(SHARDED))

    def sharded_by(self, number: int, run: str) -> bool:
        """Whether draft ``number`` is open and held for the sharded apply ``run``."""
        draft = self._find(number)
        holder = parse_holder(draft.get("description")) if draft else None
        return holder is not None and holder.sharded and holder.run == run

    def abandon(self) -> None:
        """Give the draft up unused: close it when this run opened it, else release it."""
        if self.number is not None and not self.resumed:  # a fresh draft: nothing in it yet
            self._stop.set()
            if self._thread is not None:
                self._thread.join(timeout=5)
            try:
                self.client.update_draft(self.dataset_id, self.number, status="CLOSED")
                return
            except RemoteError:
                pass
        self.release(committed=False)

    def release(self, *, committed: bool) -> None:
        """Stop the heartbeat; when the draft stays open and is still this run's, mark the lock
        released so the next apply (on any host) can resume it at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if not committed and self.number is not None and self._ours():
            try:
                self.client.update_draft(self.dataset_id, self.number, description=self._line("released"))
            except RemoteError:
                pass  # the next apply falls back to watching the heartbeat


def _busy(branch: str, draft: dict[str, Any], holder: Holder | None) -> ConflictError:
    who = f" (host {holder.host}, pid {holder.pid})" if holder else ""
    return ConflictError(
        f"another labelsync apply is writing to branch '{branch}' in draft #{draft.get('number', '?')}{who}",
        hint="wait for it to finish, then plan again",
    )
