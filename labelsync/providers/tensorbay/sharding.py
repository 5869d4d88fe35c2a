"""TensorBay's part of a sharded apply (:class:`~labelsync.providers.sharding.ShardedSession`).

* ``prepare``: ``open`` (dataset created if planned, draft opened, stale check), then the
  draft is held for the sharded apply (:meth:`~.lock.DraftLock.hold_for_shards`);
  ``prepared()`` is ``{"datasetId", "draft", "run"}``;
* ``head``: the branch head (``branches?name``: one request);
* ``resume`` (a shard): checks the draft is still open and held for that run, then (with
  ``held``) lists what it holds of the plan's segments, so that a re-run shard skips what
  is there (a listing that other shards' writes made incomplete: nothing is skipped);
* ``holds``: the draft's items of one segment; ``finish``: the same check, then one commit
  whose description carries the digest trailer (the draft then is no lock any more).

A shard never touches the lock line; only ``prepare`` (after a failure: released) and
``finish`` (committed) do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from labelsync.errors import ConflictError, RemoteError
from labelsync.providers.session import Opened
from labelsync.providers.tensorbay.convert import live_items
from labelsync.providers.tensorbay.lock import DraftLock
from labelsync.providers.tensorbay.session import TensorBaySession
from labelsync.state import Item


class ShardedTensorBaySession(TensorBaySession):
    """A :class:`TensorBaySession` that can also prepare, resume and finish a sharded apply."""

    role = "apply"

    def prepare(self) -> Opened:
        self.role = "prepare"
        opened = self.open()
        assert self.lock is not None
        try:
            self.lock.hold_for_shards()
        except BaseException:
            self.lock.release(committed=False)
            raise
        return opened

    def prepared(self) -> dict[str, Any]:
        assert self.lock is not None
        return {"datasetId": self.dataset_id, "draft": self.draft, "run": self.lock.run}

    def _enter(self, prepared: Mapping[str, Any]) -> None:
        self.dataset_id, self.draft = str(prepared["datasetId"]), int(prepared["draft"])
        lock = DraftLock(self.client, self.dataset_id, self.plan.branch, self.plan.desired_digest)
        if not lock.sharded_by(self.draft, str(prepared["run"])):
            raise ConflictError(
                f"draft #{self.draft} of dataset '{self.plan.name}' is no longer held for this sharded apply "
                "(committed, closed or taken over)",
                hint="prepare again: labelsync apply --prepare -o FILE --shards N",
            )

    def head(self) -> str | None:
        return self.client.branch_head(self.plan.remote_id or self.dataset_id, self.plan.branch)

    def resume(self, prepared: Mapping[str, Any], held: bool = True) -> Opened:
        self.role = "shard"
        self._enter(prepared)
        return Opened(resumed=True, held=self._shard_held() if held else {})

    def _shard_held(self) -> dict[str, Mapping[str, Item]]:
        """What the draft holds (a re-run shard skips it), or nothing when the listing does
        not prove itself complete: the other shards write to the draft meanwhile, so its
        pages shift under the listing. The shard then writes its whole share again (every
        write is idempotent), which reaches the same end state."""
        try:
            return self._held()
        except RemoteError as exc:
            if type(exc) is not RemoteError:  # the incomplete listing's own error, not a refusal or an outage
                raise
            self.events.message(
                f"{self.plan.name}: {exc.message}: other shards are writing to draft #{self.draft}; "
                "this shard writes its whole share again"
            )
            return {}

    def holds(self, segment: str) -> Mapping[str, Item]:
        details = self.client.list_details(self.dataset_id, segment, {"draftNumber": self.draft})
        items, _ = live_items(details, fusion=self.plan.kind == "fusion")
        return items

    def finish(self, prepared: Mapping[str, Any], digest: str, message: str, source: Mapping[str, str]) -> str | None:
        self.role = "finish"
        self._enter(prepared)
        self.plan = replace(self.plan, desired_digest=digest)
        return self.commit(message, source)

    def close(self, error: BaseException | None) -> BaseException | None:
        if self.role == "apply" or (self.role == "prepare" and error is not None):
            return super().close(error)
        return None  # the sharded apply's draft stays held (prepare, shard) or is committed (finish)
