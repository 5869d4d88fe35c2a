"""The GCS-style resumable upload of one file to a session URI (``api/deepen.md`` §7.1).

Protocol as the client sees it:

1. Ask where the session stands: ``PUT`` with ``Content-Range: bytes */TOTAL`` and no body.
   ``308`` with ``Range: bytes=0-N`` means N+1 bytes are persisted (no ``Range``: none);
   ``200``/``201`` means the upload is complete.
2. Send chunks from the persisted offset: ``Content-Range: bytes a-b/TOTAL``; every chunk but
   the last is a multiple of 256 KiB. A ``308`` carries the new persisted offset, which may
   be lower than what was sent; the next chunk starts there.
3. After a dropped connection, a timeout, a ``408``/``429``/``5xx``, query the offset again
   (step 1) and continue from it: bytes the server persisted are never sent again. Chunk
   PUTs are therefore sent with the transport's retries off (a transport retry would resend
   the whole chunk); status queries keep them.
4. ``404``/``410``: the session expired or is unknown; ``400``: a bad range or size. Both
   end the upload with a :class:`~labelsync.errors.RemoteError` (one line, URL redacted).

The session URI is the credential: it is never printed (messages use
:func:`labelsync.providers.http.redact_url`), and no ``Authorization`` header goes with it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from labelsync.errors import RemoteError, TransientError
from labelsync.providers.http import NO_RETRY, raise_for_api, redact_url, translate_transport_errors

UNIT = 256 * 1024
DEFAULT_CHUNK = 8 * 1024 * 1024
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_RANGE = re.compile(r"bytes=0-(\d+)")


@dataclass
class UploadOutcome:
    """What an upload did: total size, bytes put on the wire (all attempts), where it started."""

    total: int
    sent: int = 0
    started_at: int = 0
    requests: int = 0
    interruptions: int = 0


class ResumableUpload:
    """Upload the file at ``path`` (``total`` bytes) to the session ``url`` through ``http``.

    ``http`` must not carry the API token (the session URI is its own credential).
    ``chunk`` is rounded down to a multiple of 256 KiB (at least 256 KiB). ``on_bytes`` is
    called with the number of newly persisted bytes after each chunk. ``max_failures``
    consecutive failures without progress end the upload with a
    :class:`~labelsync.errors.TransientError`; ``sleep`` is the backoff wait (injectable).
    """

    def __init__(
        self,
        http: httpx.Client,
        url: str,
        path: Path,
        total: int,
        *,
        chunk: int = DEFAULT_CHUNK,
        on_bytes: Callable[[int], None] | None = None,
        max_failures: int = 6,
        sleep: Callable[[float], None] = time.sleep,
        content_type: str = "application/zip",
    ) -> None:
        self.http = http
        self.url = url
        self.path = path
        self.total = total
        self.chunk = max(UNIT, chunk - chunk % UNIT)
        self.on_bytes = on_bytes or (lambda n: None)
        self.max_failures = max_failures
        self.sleep = sleep
        self.content_type = content_type
        self.outcome = UploadOutcome(total=total)

    # ------------------------------------------------------------------ one request each

    def query_offset(self) -> int | None:
        """The persisted offset (``None`` when the upload is complete)."""
        with translate_transport_errors("query the upload offset"):
            response = self.http.put(self.url, content=b"", headers={"Content-Range": f"bytes */{self.total}"})
        self.outcome.requests += 1
        return self._offset(response, what="query the upload offset")

    def _offset(self, response: httpx.Response, *, what: str) -> int | None:
        status = int(response.headers.get("x-http-status-code-override") or response.status_code)
        if status in (200, 201):
            return None
        if status == 308:
            match = _RANGE.fullmatch(response.headers.get("range", "").strip())
            return int(match[1]) + 1 if match else 0
        if status in RETRY_STATUSES:
            raise TransientError(f"{what}: HTTP {status} from {redact_url(self.url)}")
        if status in (404, 410):
            raise RemoteError(
                f"{what}: the upload session has expired or is unknown (HTTP {status})",
                status=status,
                hint="delete the half-created dataset on Deepen and apply again (a new dataset gets a new session)",
            )
        raise_for_api(response, what=what)
        raise RemoteError(f"{what}: unexpected HTTP {status}", status=status)  # pragma: no cover

    def _send(self, offset: int) -> int | None:
        size = min(self.chunk, self.total - offset)
        with self.path.open("rb") as fh:
            fh.seek(offset)
            data = fh.read(size)
        if len(data) != size:
            raise RemoteError(f"the file to upload changed while uploading ({self.path.name})")
        headers = {"Content-Range": f"bytes {offset}-{offset + size - 1}/{self.total}", "Content-Type": self.content_type}
        self.outcome.sent += size
        self.outcome.requests += 1
        with translate_transport_errors("upload"):
            response = self.http.put(self.url, content=data, headers=headers, extensions={NO_RETRY: False})
        return self._offset(response, what="upload")

    # ------------------------------------------------------------------ the loop

    def run(self) -> UploadOutcome:
        """Upload everything not yet persisted; returns the :class:`UploadOutcome`."""
        failures = 0
        offset: int | None = self._with_retries(self.query_offset)
        self.outcome.started_at = offset if offset is not None else self.total
        if offset:
            self.on_bytes(offset)
        while offset is not None:
            before = offset
            try:
                offset = self._send(offset)
            except TransientError:
                self.outcome.interruptions += 1
                failures += 1
                if failures >= self.max_failures:
                    raise
                self.sleep(min(10.0, 0.2 * 2 ** (failures - 1)))
                offset = self._with_retries(self.query_offset)
            now = self.total if offset is None else offset
            if now > before:
                failures = 0
                self.on_bytes(now - before)
            elif offset is not None:
                failures += 1
                if failures >= self.max_failures:
                    raise TransientError(
                        f"upload makes no progress: the server keeps {now} of {self.total} bytes",
                        hint="try again later; a re-run apply resumes from the persisted offset",
                    )
        return self.outcome

    def _with_retries(self, fn: Callable[[], int | None]) -> int | None:
        for attempt in range(self.max_failures):
            try:
                return fn()
            except TransientError:
                if attempt + 1 >= self.max_failures:
                    raise
                self.sleep(min(10.0, 0.2 * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover
