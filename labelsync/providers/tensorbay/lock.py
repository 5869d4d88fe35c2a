"""The open draft as the lock of a branch (one OPEN draft per branch, §6.3).

labelsync opens its draft with a title starting ``labelsync apply`` and a description line
``labelsync-lock: host=<h> pid=<p> run=<id> heartbeat=<epoch s>`` that it refreshes every
:data:`HEARTBEAT` seconds while it applies. When apply finds an open draft on its branch:

* not opened by labelsync: someone else is writing; stop with a clear message;
* opened by labelsync and its holder is alive (same host and the pid runs, or another host
  and the heartbeat is younger than :data:`TTL`): another apply is running; stop;
* opened by labelsync and its holder is gone (killed): take the draft over and resume.

Two applies racing to open a draft are decided by the server, which refuses a second
OPEN draft on a branch; the loser stops with the same clear message.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from labelsync.errors import ConflictError, RemoteError
from labelsync.providers.tensorbay.client import TensorBayClient
from labelsync.providers.tensorbay.convert import DRAFT_TITLE_PREFIX

HEARTBEAT = 15.0
TTL = 120.0
_LOCK_RE = re.compile(r"labelsync-lock: host=(\S+) pid=(\d+) run=(\S+) heartbeat=(\d+)")


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    run: str
    heartbeat: int

    def alive(self, now: float) -> bool:
        if self.host == socket.gethostname():
            if self.pid == os.getpid():
                return False
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
            return now - self.heartbeat < TTL
        return now - self.heartbeat < TTL


def parse_holder(description: str | None) -> Holder | None:
    m = _LOCK_RE.search(description or "")
    if not m:
        return None
    return Holder(m.group(1), int(m.group(2)), m.group(3), int(m.group(4)))


def lock_line(run: str, now: float) -> str:
    return f"labelsync-lock: host={socket.gethostname()} pid={os.getpid()} run={run} heartbeat={int(now)}"


class DraftLock:
    """Acquire (open or take over) the branch's draft; keep the heartbeat while held."""

    def __init__(self, client: TensorBayClient, dataset_id: str, branch: str, digest: str) -> None:
        self.client = client
        self.dataset_id = dataset_id
        self.branch = branch
        self.digest = digest
        self.run = uuid.uuid4().hex[:12]
        self.number: int | None = None
        self.resumed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> int:
        """The draft number to write to; raises ConflictError when someone else holds the branch."""
        drafts = self.client.open_drafts(self.dataset_id, self.branch)
        if drafts:
            self.number = self._take_over(drafts[0])
            self.resumed = True
        else:
            title = f"{DRAFT_TITLE_PREFIX} {self.digest.removeprefix('sha256:')[:12]}"
            try:
                self.number = self.client.create_draft(self.dataset_id, self.branch, title, lock_line(self.run, time.time()))
            except ConflictError as exc:
                drafts = self.client.open_drafts(self.dataset_id, self.branch)
                raise _busy(self.branch, drafts[0] if drafts else {}, None) from exc
        self._thread = threading.Thread(target=self._beat, name="labelsync-draft-heartbeat", daemon=True)
        self._thread.start()
        return self.number

    def _take_over(self, draft: dict[str, Any]) -> int:
        number = int(draft["number"])
        if not str(draft.get("title", "")).startswith(DRAFT_TITLE_PREFIX):
            raise ConflictError(
                f"branch '{self.branch}' has an open draft #{number} ('{draft.get('title', '')}') that labelsync did not "
                "open: someone else is writing to this branch",
                hint="commit or close that draft, then run apply again",
            )
        holder = parse_holder(draft.get("description"))
        if holder is not None and holder.alive(time.time()):
            raise _busy(self.branch, draft, holder)
        self.client.update_draft(self.dataset_id, number, description=lock_line(self.run, time.time()))
        return number

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT):
            try:
                assert self.number is not None
                self.client.update_draft(self.dataset_id, self.number, description=lock_line(self.run, time.time()))
            except RemoteError:
                pass  # the next beat tries again; the apply itself reports real failures

    def release(self) -> None:
        """Stop the heartbeat (the draft itself is closed by committing it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _busy(branch: str, draft: dict[str, Any], holder: Holder | None) -> ConflictError:
    who = f" (host {holder.host}, pid {holder.pid})" if holder else ""
    return ConflictError(
        f"another labelsync apply is writing to branch '{branch}' in draft #{draft.get('number', '?')}{who}",
        hint=f"wait for it to finish and re-plan; a holder that died on another machine is taken over after {int(TTL)} s",
    )
