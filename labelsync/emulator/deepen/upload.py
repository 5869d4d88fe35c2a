"""GCS-style resumable upload sessions (contract §7), served as a raw ASGI app.

Session URI: ``PUT /upload/storage/v1/b/<bucket>/o?uploadType=resumable&name=...&upload_id=<id>``;
no Authorization header (the URI is the credential). Rules:

* Unknown, cancelled or deleted session: 404 ``{"error": {"code": 404, "message": ...}}``.
* Already complete: any PUT answers 200 with the object JSON (idempotent).
* No ``Content-Range``: the body is the whole object; its length must equal the declared
  ``file_size`` (else 400).
* ``Content-Range: bytes */T`` or ``bytes */*``: status query. 200 + object when complete
  (or when ``T`` equals the persisted length), else 308 with ``Range: bytes=0-N`` (no
  ``Range`` header when nothing is persisted).
* ``Content-Range: bytes a-b/T`` (or ``a-*/T``): ``T`` must equal ``file_size`` (else 400);
  ``b-a+1`` must equal ``Content-Length`` (else 400); a chunk that does not end the object
  must be a multiple of 256 KiB (else 400). Bytes before the persisted offset are skipped
  (resent data is ignored). [INFERRED] A chunk starting *after* the persisted offset is
  discarded and answered 308 with the persisted ``Range``, so the client resumes correctly.
* Replies while incomplete: 308 with ``Range``, empty body, no ``Location``;
  ``X-GUploader-No-308: yes`` turns it into 200 + ``X-HTTP-Status-Code-Override: 308``.
* [INFERRED] ``Content-Length`` is required on a PUT with a body (a chunked transfer
  encoding counts as an empty body, so it fails the length checks with a 400).
* ``DELETE``: cancels, 499 with an empty body; the URI is then unknown (404).
  [INFERRED] Deleting a completed session is a 400.

Durability: bytes are appended to ``uploads/<upload_id>`` as they arrive (flushed every
MiB) and fsync'ed when a request ends or breaks off. The persisted offset *is* that file's
length; when a request breaks off mid-chunk, the file is cut back to a multiple of 256 KiB
[INFERRED: GCS persists in such units], so the client resumes on an aligned offset after
a status query. Nothing else needs to be stored, so the offset survives restarts.

``GET /download/storage/v1/b/<object>?alt=media&upload_id=<id>`` serves a completed
upload (the target of ``uploaded_dataset_signed_media_link``; the id is the signature).

Fault injection for resume tests: :meth:`UploadHandler.arm_drop` makes the next PUT carrying
a body persist the first ``after_bytes`` of that body, then drop the connection mid-response.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import anyio.to_thread

from ..runtime import Receive, Scope, Send
from .resources import gcs_object
from .rows import SessionRow
from .store import Store

CHUNK_UNIT = 256 * 1024
FLUSH_BYTES = 1024 * 1024
RANGE_RE = re.compile(r"bytes (\*|(\d+)-(\d+|\*))/(\*|\d+)")
PATH_RE = re.compile(r"/upload/storage/v1/b/[^/]+/o/?")


@dataclass
class Reply:
    """A response to send: status, headers, body."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""


def gcs_error(status: int, message: str) -> Reply:
    body = json.dumps({"error": {"code": status, "message": message}}).encode()
    return Reply(status, [(b"content-type", b"application/json")], body)


def durable_length(path: Path, session: SessionRow) -> int:
    """The offset a status query would report now, without touching the file (blocking)."""
    if session.complete:
        return session.file_size
    try:
        size = min(path.stat().st_size, session.file_size)
    except FileNotFoundError:
        return 0
    return size if size == session.file_size else size - size % CHUNK_UNIT


def persisted_length(path: Path, session: SessionRow) -> int:
    """The durable offset of a session, cutting a broken-off unaligned tail (blocking).

    Call only under the session's lock (it may truncate the upload file).
    """
    aligned = durable_length(path, session)
    if not session.complete and path.exists() and path.stat().st_size != aligned:
        with path.open("r+b") as handle:
            handle.truncate(aligned)
            os.fsync(handle.fileno())
    return aligned


def md5_base64(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        while block := handle.read(FLUSH_BYTES * 4):
            digest.update(block)
    return base64.b64encode(digest.digest()).decode()


class UploadHandler:
    """ASGI app for the session URIs; state lives in :class:`~.store.Store` and upload files."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._locks: dict[str, asyncio.Lock] = {}
        self._drop_after: int | None = None

    def arm_drop(self, after_bytes: int) -> None:
        """Drop the connection of the next body-carrying PUT after ``after_bytes`` of its body."""
        self._drop_after = after_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        params = parse_qs(scope.get("query_string", b"").decode())
        upload_id = params.get("upload_id", [""])[0]
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if scope["path"].startswith("/download/"):
            await _drain(receive)
            await self._download(upload_id, send)
            return
        if not PATH_RE.fullmatch(scope["path"]) or not upload_id:
            await _drain(receive)
            await _send(send, gcs_error(404, "Not Found"))
            return
        lock = self._locks.setdefault(upload_id, asyncio.Lock())
        async with lock:
            session = await anyio.to_thread.run_sync(self.store.get_session, upload_id)
            if session is None:
                await _drain(receive)
                await _send(send, gcs_error(404, f"No upload session with id {upload_id}."))
                return
            if scope["method"] == "DELETE":
                await _drain(receive)
                await _send(send, await self._cancel(session))
            elif scope["method"] == "PUT":
                reply = await self._put(session, headers, receive, send)
                if reply is not None:
                    await _send(send, reply)
            else:
                await _drain(receive)
                await _send(
                    send, gcs_error(405, f"Method {scope['method']} not allowed on an upload session.")
                )

    async def _download(self, upload_id: str, send: Send) -> None:
        """Serve a completed upload's bytes (the ``uploaded_dataset_signed_media_link`` target)."""
        session = await anyio.to_thread.run_sync(self.store.get_session, upload_id) if upload_id else None
        if session is None or not session.complete:
            await _send(send, gcs_error(404, "No such object."))
            return
        path = self.store.session_path(upload_id)
        handle = await anyio.to_thread.run_sync(path.open, "rb")
        try:
            headers = [
                (b"content-type", session.file_type.encode()),
                (b"content-length", str(session.file_size).encode()),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            while block := await anyio.to_thread.run_sync(handle.read, FLUSH_BYTES):
                await send({"type": "http.response.body", "body": block, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            handle.close()

    async def _cancel(self, session: SessionRow) -> Reply:
        if session.complete:
            return gcs_error(400, "The upload is already complete and cannot be cancelled.")
        await anyio.to_thread.run_sync(self.store.cancel_session, session.upload_id)
        self.store.session_path(session.upload_id).unlink(missing_ok=True)
        return Reply(499, [(b"content-length", b"0")])

    async def _put(
        self, session: SessionRow, headers: dict[str, str], receive: Receive, send: Send
    ) -> Reply | None:
        no308 = headers.get("x-guploader-no-308", "").lower() == "yes"
        path = self.store.session_path(session.upload_id)
        persisted = await anyio.to_thread.run_sync(persisted_length, path, session)
        if session.complete:
            await _drain(receive)
            return _object_reply(session)
        length = int(headers.get("content-length") or 0)
        content_range = headers.get("content-range")
        if content_range is None:
            if length != session.file_size:
                await _drain(receive)
                return gcs_error(
                    400, f"Upload of {length} bytes does not match the declared size {session.file_size}."
                )
            first, persisted = 0, 0
        else:
            match = RANGE_RE.fullmatch(content_range.strip())
            if match is None:
                await _drain(receive)
                return gcs_error(400, f"Invalid Content-Range header: {content_range!r}.")
            total = match[4]
            if total != "*" and int(total) != session.file_size:
                await _drain(receive)
                return gcs_error(
                    400, f"Total size {total} does not match the declared size {session.file_size}."
                )
            if match[1] == "*":
                await _drain(receive)
                if persisted == session.file_size:
                    return await self._complete(session, path)
                return _incomplete(persisted, no308)
            first = int(match[2])
            last = first + length - 1 if match[3] == "*" else int(match[3])
            if last < first or last - first + 1 != length:
                await _drain(receive)
                return gcs_error(
                    400, f"Content-Range {content_range!r} does not match Content-Length {length}."
                )
            if last >= session.file_size:
                await _drain(receive)
                return gcs_error(
                    400, f"Content-Range {content_range!r} goes past the declared size {session.file_size}."
                )
            if last + 1 != session.file_size and length % CHUNK_UNIT:
                await _drain(receive)
                return gcs_error(
                    400, f"Chunk of {length} bytes is not a multiple of {CHUNK_UNIT} bytes (256 KiB)."
                )
            if first > persisted:
                await _drain(receive)
                return _incomplete(persisted, no308)
        drop_after = self._drop_after
        if drop_after is not None and length > drop_after:
            self._drop_after = None
        else:
            drop_after = None
        broken = await self._receive_into(session, path, first, persisted, receive, drop_after)
        persisted = await anyio.to_thread.run_sync(persisted_length, path, session)
        if drop_after is not None and broken == "dropped":
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]}
            )
            await send({"type": "http.response.body", "body": b"{", "more_body": True})
            raise ConnectionAbortedError("deepen emulator: upload connection dropped (armed fault)")
        if broken:
            return None
        if persisted == session.file_size:
            return await self._complete(session, path)
        return _incomplete(persisted, no308)

    async def _receive_into(
        self,
        session: SessionRow,
        path: Path,
        first: int,
        persisted: int,
        receive: Receive,
        drop_after: int | None,
    ) -> str | None:
        """Append the body beyond ``persisted``; returns ``"disconnect"``/``"dropped"`` if cut short."""
        skip = persisted - first
        received = 0
        buffer = bytearray()
        handle = await anyio.to_thread.run_sync(_open_at, path, persisted)
        outcome: str | None = None
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    outcome = "disconnect"
                    break
                chunk = message.get("body", b"")
                if drop_after is not None and received + len(chunk) >= drop_after:
                    chunk = chunk[: drop_after - received]
                    outcome = "dropped"
                received += len(chunk)
                if skip >= len(chunk):
                    skip -= len(chunk)
                else:
                    buffer += chunk[skip:] if skip else chunk
                    skip = 0
                if len(buffer) >= FLUSH_BYTES:
                    data, buffer = bytes(buffer), bytearray()
                    await anyio.to_thread.run_sync(handle.write, data)
                if outcome or not message.get("more_body"):
                    break
        finally:
            await anyio.to_thread.run_sync(_finish, handle, bytes(buffer))
            await anyio.to_thread.run_sync(self.store.add_received, session.upload_id, received)
        return outcome

    async def _complete(self, session: SessionRow, path: Path) -> Reply:
        md5 = await anyio.to_thread.run_sync(md5_base64, path)
        done = await anyio.to_thread.run_sync(self.store.complete_session, session.upload_id, md5)
        if done is None:
            return gcs_error(404, f"No upload session with id {session.upload_id}.")
        return _object_reply(done)


def _open_at(path: Path, offset: int) -> Any:
    handle = path.open("r+b" if path.exists() else "w+b")
    handle.truncate(offset)
    handle.seek(offset)
    return handle


def _finish(handle: Any, tail: bytes) -> None:
    try:
        handle.write(tail)
        handle.flush()
        os.fsync(handle.fileno())
    finally:
        handle.close()


def _object_reply(session: SessionRow) -> Reply:
    return Reply(200, [(b"content-type", b"application/json")], json.dumps(gcs_object(session)).encode())


def _incomplete(persisted: int, no308: bool) -> Reply:
    headers: list[tuple[bytes, bytes]] = [(b"content-length", b"0")]
    if persisted > 0:
        headers.append((b"range", f"bytes=0-{persisted - 1}".encode()))
    if no308:
        return Reply(200, [*headers, (b"x-http-status-code-override", b"308")])
    return Reply(308, headers)


async def _drain(receive: Receive) -> None:
    while True:
        message: MutableMapping[str, Any] = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return


async def _send(send: Send, reply: Reply) -> None:
    headers = list(reply.headers)
    if not any(k == b"content-length" for k, _ in headers):
        headers.append((b"content-length", str(len(reply.body)).encode()))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})
