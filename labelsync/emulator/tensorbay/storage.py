"""The storage host: S3-style form-POST uploads and signed downloads, on the emulator itself.

``POST /storage/upload`` takes ``multipart/form-data`` with the policy fields, ``key``,
an (often empty) ``Content-Type`` field and the ``file`` part last (its filename may be
empty). It verifies the signed policy (403 ``SignatureDoesNotMatch`` / ``AccessDenied``
when tampered with, expired or used for a key outside its prefix), checks that the key is
``<objectPrefix><sha1>`` and that the bytes hash to that SHA-1 (400 ``BadDigest``), stores
the blob, and answers ``success_action_status`` (200 or 201; 204 by default, as S3).

A body that arrives in one piece (small files, most uploads) is handled in memory. A longer
one is streamed: the fields before the ``file`` part are read (at most
:data:`MAX_PRE_DATA` bytes, as S3's ``MaxPostPreDataLengthExceeded``), the policy and key
are checked, and only then is the file part written to disk as it arrives, hashed on the
way (:meth:`~.blobs.BlobStore.incoming`); a refused upload is answered at once, without
reading the rest.

``GET /files/<datasetId>/<sha1>?expires=..&signature=..`` returns the raw bytes; 403
``AccessDenied`` after expiry or with a bad signature. Neither needs ``X-Token``. Errors are
JSON ``{"code", "message"}`` (the SDK parses every error body as JSON).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Any

from python_multipart.multipart import parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from labelsync.emulator.runtime import STORAGE_FAILED, Receive, Scope, Send, storage_failure
from labelsync.emulator.tensorbay.blobs import BlobStore, is_sha1
from labelsync.emulator.tensorbay.errors import ApiError
from labelsync.emulator.tensorbay.signing import Signer

log = logging.getLogger(__name__)
INLINE_WRITE = 256 * 1024
MAX_PRE_DATA = 64 * 1024
"""The most bytes of form fields accepted before the ``file`` part of a streamed upload."""
UPLOAD_PATH = "/storage/upload"
_PART_NAME = re.compile(rb'(?:^|[;\s])name="?([^";]*)')
_DISPOSITION = re.compile(rb"(?im)^[ \t]*content-disposition[ \t]*:([^\r\n]*)")
_PLAIN_FORM = re.compile(r"multipart/form-data; boundary=([0-9A-Za-z'()+_,\-./:=?]{1,70})")
"""The usual ``Content-Type`` of a form POST, an unquoted boundary: read without the
general header parser (the hot path of every upload)."""


def _error(err: ApiError) -> JSONResponse:
    return JSONResponse({"code": err.code, "message": err.message}, status_code=err.status)


def _bad(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


def split_multipart(body: bytes, boundary: bytes) -> list[tuple[bytes, bytes]]:
    """``(name, content)`` of each part of a ``multipart/form-data`` body; ValueError if malformed.

    The whole body is in memory and split with ``bytes.find`` (C speed), by part name alone,
    so a ``file`` part without a filename (some clients leave an empty one out) keeps its
    exact bytes.
    """
    delimiter = b"--" + boundary
    position = body.find(delimiter)
    if position < 0:
        raise ValueError("no boundary in the body")
    parts: list[tuple[bytes, bytes]] = []
    while True:
        position += len(delimiter)
        if body.startswith(b"--", position):
            return parts
        if not body.startswith(b"\r\n", position):
            raise ValueError("a boundary is not followed by CRLF")
        head_end = body.find(b"\r\n\r\n", position + 2)
        if head_end < 0:
            raise ValueError("unterminated part headers")
        end = body.find(b"\r\n" + delimiter, head_end + 4)
        if end < 0:
            raise ValueError("unterminated part (no closing boundary)")
        name = b""
        dispositions = _DISPOSITION.findall(body, position + 2, head_end)
        if dispositions:  # the last Content-Disposition header names the part
            match = _PART_NAME.search(dispositions[-1])
            name = match.group(1) if match else b""
        parts.append((name, body[head_end + 4 : end]))
        position = end + 2


def read_form(content_type: str, body: bytes) -> tuple[dict[str, str], bytes | None]:
    """The text fields before the ``file`` part, and the raw bytes of ``file`` (None if absent)."""
    boundary = _boundary(content_type)
    try:
        parts = split_multipart(body, boundary)
    except ValueError as exc:
        raise _bad(
            "MalformedPOSTRequest",
            f"The body of your POST request is not well-formed multipart/form-data: {exc}",
        ) from exc
    fields: dict[str, str] = {}
    for part_name, data in parts:
        key = part_name.decode("utf-8", "replace")
        if key == "file":
            return fields, data  # S3 ignores fields after the file
        fields[key] = data.decode("utf-8", "replace")
    return fields, None


def _allowed(fields: dict[str, str], has_file: bool, signer: Signer) -> tuple[str, str]:
    """``(key, sha1)`` of an upload whose fields pass the policy; ApiError otherwise."""
    key = fields.get("key")
    if not key:
        raise _bad("InvalidArgument", "Bucket POST must contain a field named 'key'")
    if not has_file:
        raise _bad("InvalidArgument", "POST requires exactly one file upload per request")
    signer.verify_policy(fields, key)
    sha1 = key.rpartition("/")[2]
    if not is_sha1(sha1):
        raise _bad("InvalidArgument", "the key must end in the SHA-1 of the file")
    return key, sha1


def _answer(fields: dict[str, str], key: str, sha1: str) -> tuple[int, Any]:
    status = fields.get("success_action_status", "204")
    if status == "201":
        return 201, {"key": key, "etag": sha1}
    return (200, None) if status == "200" else (204, None)


def _boundary(content_type: str) -> bytes:
    plain = _PLAIN_FORM.fullmatch(content_type)
    if plain is not None:
        return plain.group(1).encode()
    media, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if media != b"multipart/form-data" or not boundary:
        raise _bad("InvalidArgument", "POST requires multipart/form-data with a boundary")
    return bytes(boundary)


def _pre_data(buffer: bytes, boundary: bytes) -> tuple[dict[str, str], int] | None:
    """The fields before the ``file`` part and where its bytes start in ``buffer``; None
    while they have not all arrived. A form with no file part gives offset -1."""
    delimiter = b"--" + boundary
    position = buffer.find(delimiter)
    if position < 0:
        return None
    fields: dict[str, str] = {}
    while True:
        position += len(delimiter)
        if len(buffer) < position + 2:
            return None
        if buffer.startswith(b"--", position):
            return fields, -1
        head_end = buffer.find(b"\r\n\r\n", position + 2)
        if head_end < 0:
            return None
        match = _PART_NAME.search(buffer[position + 2 : head_end])
        name = match.group(1).decode("utf-8", "replace") if match else ""
        if name == "file":
            return fields, head_end + 4
        end = buffer.find(b"\r\n" + delimiter, head_end + 4)
        if end < 0:
            return None
        fields[name] = buffer[head_end + 4 : end].decode("utf-8", "replace")
        position = end + 2


async def store_streamed(content_type: str, first: bytes, receive: Receive, signer: Signer, blobs: BlobStore) -> tuple[int, Any]:
    """Handle a form-POST upload whose body is still arriving (see the module docstring)."""
    more = True
    target: Path | None = None
    try:
        boundary = _boundary(content_type)
        buffer = first
        found = _pre_data(buffer, boundary)
        while found is None:
            if len(buffer) > MAX_PRE_DATA:
                raise _bad("MaxPostPreDataLengthExceeded", "Your POST request fields preceding the upload file were too large.")
            if not more:
                raise _bad("MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.")
            chunk, more = await _next(receive)
            buffer += chunk
            found = _pre_data(buffer, boundary)
        fields, start = found
        key, sha1 = _allowed(fields, start >= 0, signer)  # before a byte of the file is kept
        closing = b"\r\n--" + boundary
        digest = hashlib.sha1()
        target = blobs.incoming()
        pending = buffer[start:]
        with target.open("wb") as handle:
            while True:
                end = pending.find(closing)
                if end >= 0 or not more:
                    if end < 0:
                        raise _bad("MalformedPOSTRequest", "unterminated file part (no closing boundary)")
                    digest.update(pending[:end])
                    await run_in_threadpool(handle.write, pending[:end])
                    break
                keep = len(pending) - len(closing) + 1
                if keep > 0:
                    digest.update(pending[:keep])
                    await run_in_threadpool(handle.write, pending[:keep])
                    pending = pending[keep:]
                chunk, more = await _next(receive)
                pending += chunk
        if digest.hexdigest() != sha1:
            raise _bad("BadDigest", "the SHA-1 of the uploaded bytes does not match the key")
        await run_in_threadpool(blobs.put_file, sha1, target)
        target = None
    except ApiError as err:
        return err.status, {"code": err.code, "message": err.message}
    finally:
        if target is not None:
            target.unlink(missing_ok=True)
    return _answer(fields, key, sha1)


async def _next(receive: Receive) -> tuple[bytes, bool]:
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ApiError(400, "IncompleteBody", "the client went away before the body was sent")
    return message.get("body", b""), bool(message.get("more_body"))


async def store_upload(content_type: str, body: bytes, signer: Signer, blobs: BlobStore) -> tuple[int, Any]:
    """Handle one form-POST upload (see the module docstring): ``(status, JSON body or None)``."""
    try:
        fields, data = read_form(content_type, body)
        key, sha1 = _allowed(fields, data is not None, signer)
        assert data is not None
        # Small blobs are hashed and written inline (cheaper than a thread hop); big ones off-loop.
        stored = blobs.put(sha1, data) if len(data) <= INLINE_WRITE else await run_in_threadpool(blobs.put, sha1, data)
        if not stored:
            raise _bad("BadDigest", "the SHA-1 of the uploaded bytes does not match the key")
    except ApiError as err:
        return err.status, {"code": err.code, "message": err.message}
    return _answer(fields, key, sha1)


async def upload_app(scope: Scope, receive: Receive, send: Send, signer: Signer, blobs: BlobStore) -> None:
    """``/storage/upload`` as a bare ASGI app: the hottest route skips the router and Request objects."""
    if scope["method"] != "POST":
        status, payload = 405, {"code": "MethodNotAllowed", "message": f"{scope['method']} is not allowed on {UPLOAD_PATH}", "success": False}
    else:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        content_type = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"content-type"), "")
        try:
            if message.get("more_body"):
                status, payload = await store_streamed(content_type, message.get("body", b""), receive, signer, blobs)
            else:
                status, payload = await store_upload(content_type, message.get("body", b""), signer, blobs)
        except Exception as exc:  # a bug or a full disk: JSON like every other error
            failure = storage_failure(exc)
            if failure is None:
                log.exception("tensorbay emulator: upload failed")
                status, payload = 500, {"code": "InternalError", "message": f"emulator: {type(exc).__name__}: {exc}"}
            else:
                status, payload = STORAGE_FAILED, {"code": "InsufficientStorage", "message": failure}
    body = b"" if payload is None else json.dumps(payload).encode()
    headers = [(b"content-length", str(len(body)).encode())]
    if payload is not None:
        headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def download(request: Request, signer: Signer, blobs: BlobStore) -> Response:
    """Serve a blob through a signed, expiring URL (see the module docstring)."""
    key = request.path_params["key"]
    try:
        signer.verify_url(key, request.query_params.get("expires"), request.query_params.get("signature"))
        sha1 = key.rpartition("/")[2]
        size = blobs.size(sha1) if is_sha1(sha1) else None
        if size is None:
            raise ApiError(404, "NoSuchKey", "The specified key does not exist.")
    except ApiError as err:
        return _error(err)
    return StreamingResponse(
        blobs.iter_bytes(sha1), media_type="application/octet-stream", headers={"Content-Length": str(size)}
    )
