"""The sharded-apply part of the session contract (providers whose ``Capabilities.shardable``).

A sharded apply (:mod:`labelsync.engine.shards`) splits one dataset's apply over processes
and machines. A provider that can shard offers ``Provider.shard_session(plan, options,
events)``, a :class:`ShardedSession`: a :class:`~labelsync.providers.session.Session` with
these extra entries, each used *instead of* ``open`` (and, for ``finish``, ``commit``):

* ``prepare()`` (``--prepare``): like ``open``, but the lock it takes outlives the process:
  it is held for the sharded apply until ``finish`` (or until the user abandons it);
  ``close(None)`` then keeps it. ``prepared()`` returns the JSON state the shards and the
  finish resume from (never a secret);
* ``head()`` (each shard, before ``resume``): the branch head now, in O(1) requests (a
  shard that plans from ``--prepare``'s listing checks with it that the base still holds);
* ``resume(prepared, held=True)`` (each shard): continue inside that lock; refuses
  (ConflictError, one line) when it is no longer held for this run. With ``held``,
  ``Opened.held`` says what the lock's work holds of the plan's segments (a listing), so a
  re-run shard skips it; with ``held=False`` nothing is listed and ``Opened.held`` is empty
  (the caller knows the work holds nothing of its share but the base). ``close`` never
  releases the lock;
* ``holds(segment)``: the items the lock's work holds now (the finish's check);
* ``finish(prepared, digest, message, source)``: commit once, recording ``digest``, and
  release; returns the new revision.

Pure: protocols only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from labelsync.providers.session import Opened, Session
from labelsync.state import Item


@runtime_checkable
class ShardedSession(Session, Protocol):
    """A session that can take part in a sharded apply (see the module docstring)."""

    def prepare(self) -> Opened:
        ...

    def prepared(self) -> dict[str, Any]:
        ...

    def head(self) -> str | None:
        ...

    def resume(self, prepared: Mapping[str, Any], held: bool = True) -> Opened:
        ...

    def holds(self, segment: str) -> Mapping[str, Item]:
        ...

    def finish(self, prepared: Mapping[str, Any], digest: str, message: str, source: Mapping[str, str]) -> str | None:
        ...
