"""The storage host: S3-style form-POST uploads and signed downloads, on the emulator itself.

``POST /storage/upload`` takes ``multipart/form-data`` with the policy fields, ``key``,
an (often empty) ``Content-Type`` field and the ``file`` part last (its filename may be
empty). It verifies the signed policy (403 ``SignatureDoesNotMatch`` / ``AccessDenied``
when tampered with, expired or used for a key outside its prefix), checks that the key is
``<objectPrefix><sha1>`` and that the bytes hash to that SHA-1 (400 ``BadDigest``), stores
the blob, and answers ``success_action_status`` (200 or 201; 204 by default, as S3).

``GET /files/<datasetId>/<sha1>?expires=..&signature=..`` returns the raw bytes; 403
``AccessDenied`` after expiry or with a bad signature. Neither needs ``X-Token``. Errors are
JSON ``{"code", "message"}`` (the SDK parses every error body as JSON).
"""

from __future__ import annotations

import json
import logging
import re
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
UPLOAD_PATH = "/storage/upload"
_PART_NAME = re.compile(rb'(?:^|[;\s])name="?([^";]*)')


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
        for line in body[position + 2 : head_end].split(b"\r\n"):
            header, _, value = line.partition(b":")
            if header.strip().lower() == b"content-disposition":
                match = _PART_NAME.search(value)
                name = match.group(1) if match else b""
        parts.append((name, body[head_end + 4 : end]))
        position = end + 2


def read_form(content_type: str, body: bytes) -> tuple[dict[str, str], bytes | None]:
    """The text fields before the ``file`` part, and the raw bytes of ``file`` (None if absent)."""
    media, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if media != b"multipart/form-data" or not boundary:
        raise _bad("InvalidArgument", "POST requires multipart/form-data with a boundary")
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


async def store_upload(content_type: str, body: bytes, signer: Signer, blobs: BlobStore) -> tuple[int, Any]:
    """Handle one form-POST upload (see the module docstring): ``(status, JSON body or None)``."""
    try:
        fields, data = read_form(content_type, body)
        key = fields.get("key")
        if not key:
            raise _bad("InvalidArgument", "Bucket POST must contain a field named 'key'")
        if data is None:
            raise _bad("InvalidArgument", "POST requires exactly one file upload per request")
        signer.verify_policy(fields, key)
        sha1 = key.rpartition("/")[2]
        if not is_sha1(sha1):
            raise _bad("InvalidArgument", "the key must end in the SHA-1 of the file")
        # Small blobs are hashed and written inline (cheaper than a thread hop); big ones off-loop.
        stored = blobs.put(sha1, data) if len(data) <= INLINE_WRITE else await run_in_threadpool(blobs.put, sha1, data)
        if not stored:
            raise _bad("BadDigest", "the SHA-1 of the uploaded bytes does not match the key")
    except ApiError as err:
        return err.status, {"code": err.code, "message": err.message}
    status = fields.get("success_action_status", "204")
    if status == "201":
        return 201, {"key": key, "etag": sha1}
    return (200, None) if status == "200" else (204, None)


async def upload_app(scope: Scope, receive: Receive, send: Send, signer: Signer, blobs: BlobStore) -> None:
    """``/storage/upload`` as a bare ASGI app: the hottest route skips the router and Request objects."""
    if scope["method"] != "POST":
        status, payload = 405, {"code": "MethodNotAllowed", "message": f"{scope['method']} is not allowed on {UPLOAD_PATH}", "success": False}
    else:
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        content_type = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"content-type"), "")
        try:
            status, payload = await store_upload(content_type, b"".join(chunks), signer, blobs)
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
