"""TensorBay's transfer: blobs POSTed to storage with the segment's upload policy.

Every blob the engine hands over (distinct content the remote lacks) is read from disk and
POSTed to storage, ``--jobs`` at a time (:meth:`TensorBayClient.upload_objects`), with one
upload policy per segment reused until shortly before it expires (§6.2). The engine
(:mod:`labelsync.engine.transfer`) registers the files with ``multi/callback`` in batches of
the policy's ``multipleUploadLimit`` as their blobs are stored. Blobs go through the one
upload path (:class:`~labelsync.providers.post_pool.PostPool`: direct, TLS or through the
environment's proxy), callbacks through the API client; both retry 429/5xx/dropped
connections by the one :class:`~labelsync.providers.retry.RetryPolicy`.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from labelsync.errors import LocalDataError
from labelsync.plan.model import BlobTransfer
from labelsync.providers.session import TransferReport
from labelsync.providers.tensorbay.client import TensorBayClient

MAX_BATCH = 200
"""Callbacks carry at most this many objects (or the server's limit), so that what a killed
apply registered is durable in the draft and a re-run resends little."""
POLICY_MARGIN = 30  # seconds before expireAt at which a policy is renewed


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


class SegmentTransfer:
    """The running transfer of one segment's blobs (a :class:`~labelsync.providers.session.Transfer`)."""

    def __init__(self, client: TensorBayClient, policies: PolicyCache, blobs: Sequence[BlobTransfer], root: Path, report: TransferReport) -> None:
        self.policies = policies

        base = str(root)

        def prepare(blob: BlobTransfer) -> tuple[str, dict[str, str], str, bytes]:
            host, prefix, fields = policies.form()
            return host, fields, prefix + blob.checksum, _read(os.path.join(base, str(blob.source)), blob.checksum, blob.size)

        def done(blob: BlobTransfer, error: BaseException | None) -> None:
            if error is None:
                report.sent(blob.size)
            report.stored(blob.checksum, error)

        self._batch = client.upload_objects(blobs, prepare, done, size=lambda blob: blob.size)

    def done(self) -> bool:
        return self._batch.future.done()

    def tick(self) -> None:
        self.policies.get()  # renew here, on time, so the upload loop never waits for a policy

    def stop(self) -> None:
        self._batch.stop()

    def wait(self) -> None:
        self._batch.wait()


def _read(path: str, checksum: str, size: int) -> bytes:
    """The bytes of a planned file (``size`` of them, read in one call); refuses a file that
    changed since it was planned (another size or SHA-1)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            data = os.read(fd, size + 1)  # one byte more: a file that grew is seen
            while len(data) <= size:
                more = os.read(fd, size + 1 - len(data))
                if not more:
                    break
                data += more
        finally:
            os.close(fd)
    except OSError as exc:
        raise LocalDataError(f"{path}: cannot read planned file ({exc.strerror})", hint="re-run plan") from exc
    if len(data) != size or hashlib.sha1(data).hexdigest() != checksum:
        raise LocalDataError(f"{path}: file changed since it was planned", hint="re-run plan (or apply without a plan file)")
    return data
