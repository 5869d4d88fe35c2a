"""The TensorBay upload engine: send content the remote lacks, then register files in batches.

For one segment of one draft:

1. every distinct blob (file or mask, by SHA-1) that a planned file needs and that the
   remote does not already hold is read from disk and POSTed to storage, ``--jobs`` at a
   time (:meth:`TensorBayClient.upload_objects`), with one upload policy reused until
   shortly before it expires (§6.2);
2. as soon as all blobs of a file are stored, its callback object joins the pending batch;
   a full batch (the server's ``multipleUploadLimit``) is sent with ``multi/callback`` while
   the uploads go on; the remainder is sent at the end.

Identical content under two paths is sent once. Blobs go through the one upload path
(:class:`~labelsync.providers.post_pool.PostPool`: direct, TLS or through the environment's
proxy), callbacks through the API client; both retry 429/5xx/dropped connections by the one
:class:`~labelsync.providers.retry.RetryPolicy`. A failure stops the segment after the in-flight work settles and
raises; what was registered stays in the draft and a re-run resumes from there.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import Any

from labelsync.engine.events import ApplyEvents
from labelsync.errors import ApplyError, LocalDataError
from labelsync.providers.tensorbay.client import TensorBayClient
from labelsync.providers.tensorbay.convert import callback_object

MAX_BATCH = 200
"""Callbacks carry at most this many objects (or the server's limit), so that what a killed
apply registered is durable in the draft and a re-run resends little."""
FLUSH_SECONDS = 2.0
"""A partial batch is registered once it has waited this long."""
POLICY_MARGIN = 30  # seconds before expireAt at which a policy is renewed


@dataclass
class FileJob:
    """One planned file: its callback object and the blobs it needs stored first."""

    after: dict[str, Any]
    blobs: list[tuple[str, int, str]]  # (checksum, size, source path relative to root)


class PolicyCache:
    """One upload policy per segment, renewed under a lock once it is about to expire."""

    def __init__(self, client: TensorBayClient, dataset_id: str, draft: int, segment: str) -> None:
        self.client, self.dataset_id, self.draft, self.segment = client, dataset_id, draft, segment
        self._lock = threading.Lock()
        self._policy: dict[str, Any] | None = None
        self._form: tuple[dict[str, Any], tuple[str, str, dict[str, str]]] | None = None
        self.fetched = 0

    def get(self) -> dict[str, Any]:
        """The policy, renewed (under the lock) once it is within POLICY_MARGIN of expiry."""
        policy = self._policy
        if policy is not None and time.time() < int(policy["expireAt"]) - POLICY_MARGIN:
            return policy
        with self._lock:
            if self._policy is None or time.time() >= int(self._policy["expireAt"]) - POLICY_MARGIN:
                self._policy = self.client.get_policy(self.dataset_id, self.draft, self.segment)
                self.fetched += 1
            return self._policy

    def current(self) -> dict[str, Any]:
        """The policy without waiting: the one held while it has not expired (the main thread
        renews it ahead of time with :meth:`get`), else :meth:`get`."""
        policy = self._policy
        if policy is not None and time.time() < int(policy["expireAt"]) - 5:
            return policy
        return self.get()

    def form(self) -> tuple[str, str, dict[str, str]]:
        """``(host, objectPrefix, form fields)`` of the current policy (see :meth:`current`)."""
        policy = self.current()
        if self._form is None or self._form[0] is not policy:
            fields = {k: str(v) for k, v in policy["result"].items() if v is not None and k != "multipleUploadLimit"}
            self._form = (policy, (policy["extra"]["host"], policy["extra"]["objectPrefix"], fields))
        return self._form[1]

    def batch_size(self) -> int:
        limit = int(self.get()["result"].get("multipleUploadLimit") or 50)
        return max(1, min(limit, MAX_BATCH))


def upload_segment(
    client: TensorBayClient,
    dataset_id: str,
    draft: int,
    segment: str,
    jobs_list: Sequence[FileJob],
    *,
    root: Path,
    remote_blobs: set[str],
    events: ApplyEvents,
    pool: ThreadPoolExecutor,
) -> tuple[int, int]:
    """Upload and register ``jobs_list`` in ``segment``; returns ``(files uploaded, bytes sent)``.

    "Files uploaded" counts data files whose content was sent (identical content once;
    mask files count in the bytes only).

    ``remote_blobs`` are checksums already in storage (updated as blobs are sent, so other
    segments reuse them). Callbacks run on ``pool``; uploads on the client's upload engine.
    """
    if not jobs_list:
        return 0, 0
    policies = PolicyCache(client, dataset_id, draft, segment)
    batch_size = policies.batch_size()
    waiting: dict[str, list[FileJob]] = {}
    pending_blobs: dict[str, tuple[int, str]] = {}
    missing_of: dict[int, int] = {}
    ready: list[FileJob] = []
    for job in jobs_list:
        need = 0
        for checksum, size, source in job.blobs:
            if checksum in remote_blobs:
                continue
            need += 1
            waiting.setdefault(checksum, []).append(job)
            pending_blobs.setdefault(checksum, (size, source))
        missing_of[id(job)] = need
        if need == 0:
            ready.append(job)

    data_blobs = {job.blobs[0][0] for job in jobs_list}
    sent_files = 0
    sent_bytes = 0
    batch: list[dict[str, Any]] = []
    callbacks: list[Future[None]] = []
    errors: list[BaseException] = []

    def prepare(blob: tuple[str, int, str]) -> tuple[str, dict[str, str], str, bytes]:
        checksum, size, source = blob
        host, prefix, fields = policies.form()
        return host, fields, prefix + checksum, _read(root / source, checksum, size)

    def send_batch(objects: list[dict[str, Any]]) -> None:
        client.callback(dataset_id, draft, segment, objects)
        for obj in objects:
            events.file_done(obj["remotePath"], int(obj["fileSize"]), True)

    last_flush = time.monotonic()

    def flush(force: bool) -> None:
        nonlocal batch, last_flush
        if batch and time.monotonic() - last_flush >= FLUSH_SECONDS:
            force = True
        while batch and (force or len(batch) >= batch_size):
            chunk, batch = batch[:batch_size], batch[batch_size:]
            callbacks.append(pool.submit(send_batch, chunk))
            last_flush = time.monotonic()

    batch.extend(callback_object(job.after) for job in ready)
    blobs = [(checksum, size, source) for checksum, (size, source) in pending_blobs.items()]
    # Finished uploads arrive on one queue, reported by the upload engine's thread.
    finished: SimpleQueue[tuple[tuple[str, int, str], BaseException | None]] = SimpleQueue()
    uploads = client.upload_objects(blobs, prepare, lambda blob, error: finished.put((blob, error)), size=lambda blob: blob[1])
    try:
        outstanding = len(blobs)
        while outstanding and not errors:
            flush(False)
            policies.get()  # renew here, on time, so the upload loop never waits for a policy
            try:
                (checksum, size, _), error = finished.get(timeout=FLUSH_SECONDS)
            except Empty:
                if uploads.future.done() and finished.empty():  # the engine stopped, some items unreported
                    uploads.wait()
                    raise ApplyError("the upload engine stopped before reporting every file", hint="run apply again: it resumes") from None
                continue
            outstanding -= 1
            if error is not None:
                errors.append(error)
                continue
            events.bytes_sent(size)
            remote_blobs.add(checksum)
            sent_files += checksum in data_blobs
            sent_bytes += size
            for job in waiting.pop(checksum, []):
                missing_of[id(job)] -= 1
                if missing_of[id(job)] == 0:
                    batch.append(callback_object(job.after))
    except BaseException:
        uploads.stop()  # interrupted: start nothing more; closing the client cancels the rest
        raise
    uploads.stop()
    uploads.wait()  # let the uploads in flight settle before reporting a failure
    if not errors:
        flush(True)
    for cb in callbacks:
        exc = cb.exception()
        if exc is not None:
            errors.append(exc)
    if errors:
        raise errors[0]
    return sent_files, sent_bytes


def _read(path: Path, checksum: str, size: int) -> bytes:
    """The bytes of a planned file; refuses a file that changed since it was planned."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LocalDataError(f"{path}: cannot read planned file ({exc.strerror})", hint="re-run plan") from exc
    if len(data) != size or hashlib.sha1(data).hexdigest() != checksum:
        raise LocalDataError(f"{path}: file changed since it was planned", hint="re-run plan (or apply without a plan file)")
    return data


def run_batches(pool: ThreadPoolExecutor, fn: Callable[[list[dict[str, Any]]], None], items: list[dict[str, Any]], size: int) -> None:
    """Call ``fn`` on consecutive chunks of ``items`` concurrently; re-raise the first error."""
    futures = [pool.submit(fn, items[i : i + size]) for i in range(0, len(items), size)]
    for fut in futures:
        fut.result()
