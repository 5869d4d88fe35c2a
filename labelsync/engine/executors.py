"""Running every shard of a sharded apply: processes on this machine, or a Dask cluster.

Both executors submit the same pure-Python task, :func:`labelsync.engine.shardtask.shard_task`
(no subprocess), once per shard, and wait for all; they schedule nothing themselves. A task
returns a JSON-able summary (``{"ok": False, "error", "hint"}`` for a failed shard), so
failures cross process and machine boundaries as one line. :func:`run_all` raises
:class:`~labelsync.errors.ApplyError` naming every failed shard; the shards that succeeded
keep their reports, so a re-run only redoes the failed ones' work.

* ``local``: a :class:`~concurrent.futures.ProcessPoolExecutor` of ``jobs`` processes
  (``spawn``: nothing of the parent's threads or sockets is inherited);
* ``dask``: ``distributed.Client(scheduler)`` (the optional extra ``labelsync[dask]``),
  one task per shard with a key naming the run and the shard; the workers need the
  repository checkout and the token in their environment, as any shard does.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from labelsync.errors import ApplyError, UsageError

Task = Callable[..., dict[str, Any]]


def run_local(task: Task, calls: Sequence[tuple[Any, ...]], jobs: int) -> list[dict[str, Any]]:
    """Run ``task(*args)`` for each of ``calls`` in ``jobs`` local processes."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(calls))), mp_context=ctx) as pool:
        futures = [pool.submit(task, *args) for args in calls]
        return [_outcome(f.result, args) for f, args in zip(futures, calls, strict=True)]


def run_dask(task: Task, calls: Sequence[tuple[Any, ...]], scheduler: str, *, run: str = "") -> list[dict[str, Any]]:
    """Run ``task(*args)`` for each of ``calls`` as tasks of the Dask cluster at ``scheduler``."""
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("--executor dask needs the distributed package", hint="pip install 'labelsync[dask]'") from None
    try:
        client = Client(scheduler, timeout="20s")
    except OSError as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}", hint="check --scheduler tcp://HOST:8786") from None
    with client:
        futures = [client.submit(task, *args, key=f"labelsync-shard-{args[1]}-{run or 'run'}", pure=False) for args in calls]
        return [_outcome(f.result, args) for f, args in zip(futures, calls, strict=True)]


def _outcome(result: Callable[[], dict[str, Any]], args: tuple[Any, ...]) -> dict[str, Any]:
    try:
        return result()
    except Exception as exc:  # a worker that died: the shard failed, the others go on
        return {"ok": False, "shard": args[1], "error": f"the shard's worker failed: {type(exc).__name__}: {exc}", "hint": ""}


def check_all(outcomes: Sequence[dict[str, Any]], shards: int) -> None:
    """:class:`ApplyError` naming the failed shards (and the first one's error)."""
    failed = [o for o in outcomes if not o.get("ok")]
    if failed:
        numbers = ", ".join(str(o["shard"]) for o in failed)
        first = failed[0]
        raise ApplyError(
            f"shard(s) {numbers} of {shards} failed; shard {first['shard']}: {first['error']}",
            hint=(first.get("hint") or "fix the cause") + "; then re-run: the shards that finished are kept",
        )
