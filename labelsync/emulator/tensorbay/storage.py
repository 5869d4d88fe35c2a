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

from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from labelsync.emulator.tensorbay.blobs import BlobStore, is_sha1
from labelsync.emulator.tensorbay.errors import ApiError
from labelsync.emulator.tensorbay.signing import Signer

INLINE_WRITE = 256 * 1024


def _error(err: ApiError) -> JSONResponse:
    return JSONResponse({"code": err.code, "message": err.message}, status_code=err.status)


def _bad(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


async def read_form(request: Request) -> tuple[dict[str, str], bytes | None]:
    """Parse a multipart form: the text fields and the raw bytes of the ``file`` part.

    Parsed by part name alone, so a ``file`` part without a filename (as some clients send
    an empty one) still keeps its exact bytes.
    """
    media, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if media != b"multipart/form-data" or not boundary:
        raise _bad("InvalidArgument", "POST requires multipart/form-data with a boundary")
    parts: list[tuple[bytes, bytearray]] = []
    headers: dict[bytes, bytes] = {}
    name, value, body = bytearray(), bytearray(), bytearray()

    def on_part_begin() -> None:
        nonlocal body
        headers.clear()
        body = bytearray()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        name.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        value.extend(data[start:end])

    def on_header_end() -> None:
        headers[bytes(name).lower()] = bytes(value)
        name.clear()
        value.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        body.extend(data[start:end])

    def on_part_end() -> None:
        _, disposition = parse_options_header(headers.get(b"content-disposition", b""))
        parts.append((disposition.get(b"name", b""), body))

    callbacks: Any = {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    }
    parser = MultipartParser(boundary, callbacks)
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise _bad(
            "MalformedPOSTRequest",
            f"The body of your POST request is not well-formed multipart/form-data: {exc}",
        ) from exc
    fields: dict[str, str] = {}
    file: bytes | None = None
    for part_name, data in parts:
        key = part_name.decode("utf-8", "replace")
        if key == "file":
            file = bytes(data)
            break  # S3 ignores fields after the file
        fields[key] = data.decode("utf-8", "replace")
    return fields, file


async def upload(request: Request, signer: Signer, blobs: BlobStore) -> Response:
    """Handle one form-POST upload (see the module docstring)."""
    try:
        fields, data = await read_form(request)
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
        stored = (
            blobs.put(sha1, data)
            if len(data) <= INLINE_WRITE
            else await run_in_threadpool(blobs.put, sha1, data)
        )
        if not stored:
            raise _bad("BadDigest", "the SHA-1 of the uploaded bytes does not match the key")
    except ApiError as err:
        return _error(err)
    status = fields.get("success_action_status", "204")
    if status == "201":
        return JSONResponse({"key": key, "etag": sha1}, status_code=201)
    if status == "200":
        return Response(status_code=200)
    return Response(status_code=204)


async def download(request: Request, signer: Signer, blobs: BlobStore) -> Response:
    """Serve a blob through a signed, expiring URL (see the module docstring)."""
    key = request.path_params["key"]
    try:
        signer.verify_url(key, request.query_params.get("expires"), request.query_params.get("signature"))
        sha1 = key.rpartition("/")[2]
        if not is_sha1(sha1) or blobs.size(sha1) is None:
            raise ApiError(404, "NoSuchKey", "The specified key does not exist.")
    except ApiError as err:
        return _error(err)
    return FileResponse(blobs.path(sha1), media_type="application/octet-stream")
