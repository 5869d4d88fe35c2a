"""The ASGI app: routing, authentication, JSON in and out, and :func:`create_app`.

API requests need an ``X-Token`` among the configured tokens (else 401 ``Unauthorized``);
their handlers (:mod:`.handlers`) run in a worker thread so the event loop keeps serving.
Storage routes (:mod:`.storage`) need no token: they are signed instead. Every error,
including unknown routes (404 ``ResourceNotExist``), wrong methods (405) and bugs (500
``InternalServerError``), is JSON with a ``code``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from labelsync.emulator.runtime import (
    STORAGE_FAILED,
    ASGIApp,
    FaultConfig,
    Knobs,
    Receive,
    Scope,
    Send,
    storage_failure,
)
from labelsync.emulator.tensorbay import data_handlers as d
from labelsync.emulator.tensorbay import handlers as h
from labelsync.emulator.tensorbay import storage
from labelsync.emulator.tensorbay.blobs import BlobStore
from labelsync.emulator.tensorbay.db import Database
from labelsync.emulator.tensorbay.errors import ApiError, injected_error_body, invalid
from labelsync.emulator.tensorbay.signing import Signer, load_secret

API_PREFIX = "/gatewayv2/tensorbay-open-api/v1"
LOCAL_TOKEN = "Accesskey-labelsync-local-emulator"
"""The token accepted when ``create_app`` is given no tokens (the embedded default remote)."""
DEFAULT_UPLOAD_LIMIT = 1000
DEFAULT_URL_TTL = 3600

log = logging.getLogger(__name__)
Handler = Callable[[h.Call], h.Result]


def _json(status: int, body: Any, request_id: str | None = None) -> JSONResponse:
    headers = {"X-Request-Id": request_id} if request_id else None
    return JSONResponse(body, status_code=status, headers=headers)


def _endpoint(emu: h.Emulator, handler: Handler) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        request_id = request.headers.get("x-request-id")
        try:
            if request.headers.get("x-token") not in emu.tokens:
                raise ApiError(401, "Unauthorized", "missing or unknown X-Token")
            raw = await request.body()
            body: Any = {}
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError as exc:
                    raise invalid(f"the request body is not valid JSON: {exc}") from exc
                if not isinstance(body, dict):
                    raise invalid("the request body must be a JSON object")
            flags = frozenset(k for k, v in request.query_params.multi_items() if v == "")
            call = h.Call(
                emu,
                dict(request.query_params),
                body,
                dict(request.path_params),
                str(request.base_url).rstrip("/"),
                flags,
            )
            result = await run_in_threadpool(handler, call)
        except ApiError as err:
            return _json(err.status, err.body(), request_id)
        status, payload = result if isinstance(result, tuple) else (200, result)
        return _json(status, payload, request_id)

    return endpoint


def _routes(emu: h.Emulator) -> list[Route]:
    table: list[tuple[str, dict[str, Handler]]] = [
        ("/users", {"GET": h.get_user}),
        ("/datasets", {"GET": h.list_datasets, "POST": h.create_dataset}),
        ("/datasets/{id}", {"GET": h.get_dataset, "PATCH": h.update_dataset, "DELETE": h.delete_dataset}),
        ("/datasets/{id}/drafts", {"GET": h.list_drafts, "POST": h.create_draft}),
        ("/datasets/{id}/drafts/{number}", {"PATCH": h.update_draft}),
        ("/datasets/{id}/commits", {"GET": h.list_commits, "POST": h.create_commit}),
        (
            "/datasets/{id}/branches",
            {"GET": h.list_branches, "POST": h.create_branch, "DELETE": h.delete_branch},
        ),
        ("/datasets/{id}/tags", {"GET": h.list_tags, "POST": h.create_tag, "DELETE": h.delete_tag}),
        ("/datasets/{id}/diffs/{basehead}/segments", {"GET": h.diff_segments}),
        ("/datasets/{id}/diffs/{basehead}/segments/{segment:path}/data", {"GET": h.diff_data}),
        ("/datasets/{id}/notes", {"GET": d.get_notes, "PATCH": d.patch_notes}),
        ("/datasets/{id}/labels/catalogs", {"GET": d.get_catalog, "PUT": d.put_catalog}),
        ("/datasets/{id}/labels/statistics", {"GET": d.label_statistics}),
        ("/datasets/{id}/labels", {"GET": d.list_labels, "PUT": d.put_label}),
        ("/datasets/{id}/total-size", {"GET": d.total_size}),
        (
            "/datasets/{id}/segments",
            {"GET": d.list_segments, "POST": d.post_segments, "DELETE": d.delete_segment},
        ),
        ("/datasets/{id}/policies", {"GET": d.get_policy}),
        ("/datasets/{id}/multi/callback", {"PUT": d.multi_callback}),
        ("/datasets/{id}/callback", {"PUT": d.single_callback}),
        ("/datasets/{id}/multi/cloud-callback", {"PUT": d.refuse_cloud_callback}),
        ("/datasets/{id}/multi/data/labels", {"PUT": d.put_labels_multi}),
        ("/datasets/{id}/data", {"GET": d.list_data, "POST": d.post_data, "DELETE": d.delete_data}),
        ("/datasets/{id}/data/details", {"GET": d.data_details}),
        ("/datasets/{id}/data/urls", {"GET": d.data_urls}),
        ("/datasets/{id}/masks/urls", {"GET": d.mask_urls}),
        (
            "/datasets/{id}/sensors",
            {"GET": d.list_sensors, "POST": d.upsert_sensor, "DELETE": d.delete_sensor},
        ),
        ("/datasets/{id}/frames", {"DELETE": d.delete_frame}),
    ]
    unsupported_paths = [
        ("/datasets/{id}/jobs", "jobs (squash-and-merge, basic search)"),
        ("/datasets/{id}/jobs/{rest:path}", "jobs (squash-and-merge, basic search)"),
        ("/searchResults/{rest:path}", "search results"),
        ("/storage-configs", "storage configs"),
        ("/storage-configs/{rest:path}", "storage configs"),
        ("/cloud/{rest:path}", "cloud files"),
    ]
    async def download(request: Request) -> Response:
        return await storage.download(request, emu.signer, emu.blobs)

    # Uploads are dispatched before the router (see _with_uploads); downloads come first here.
    routes = [Route("/files/{key:path}", download, methods=["GET"])]
    for path, methods in table:
        for method, handler in methods.items():
            routes.append(Route(API_PREFIX + path, _endpoint(emu, handler), methods=[method]))
    for path, what in unsupported_paths:
        routes.append(
            Route(
                API_PREFIX + path,
                _endpoint(emu, d.unsupported(what)),
                methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            )
        )

    return routes


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        body = {
            "code": "ResourceNotExist",
            "message": f"no such endpoint: {request.method} {request.url.path}",
        }
    elif status == 405:
        body = {
            "code": "MethodNotAllowed",
            "message": f"{request.method} is not allowed on {request.url.path}",
        }
    else:
        body = {"code": "InternalServerError", "message": str(getattr(exc, "detail", "")) or "internal error"}
    return JSONResponse({**body, "success": False}, status_code=status)


async def _storage_failed(request: Request, exc: Exception) -> Response:
    """The state could not be read or written (a full disk, a corrupt database): one JSON
    error line, no traceback (not a bug of the emulator)."""
    message = storage_failure(exc)
    if message is None:
        return await _bug(request, exc)
    log.info("tensorbay emulator: %s on %s %s", message, request.method, request.url.path)
    return JSONResponse({"code": "InsufficientStorage", "message": message, "success": False}, status_code=STORAGE_FAILED)


async def _bug(request: Request, exc: Exception) -> Response:
    log.exception(
        "tensorbay emulator: unhandled error on %s %s", request.method, request.url.path, exc_info=exc
    )
    return JSONResponse(
        {
            "code": "InternalServerError",
            "message": f"emulator bug: {type(exc).__name__}: {exc}",
            "success": False,
        },
        status_code=500,
    )


def create_app(
    data_dir: Path,
    *,
    tokens: Sequence[str],
    faults: FaultConfig | None = None,
    url_ttl: int = DEFAULT_URL_TTL,
    upload_limit: int = DEFAULT_UPLOAD_LIMIT,
    clock: Callable[[], float] = time.time,
    storage_port: int | None = None,
) -> ASGIApp:
    """The TensorBay emulator as an ASGI app, wrapped in :class:`~..runtime.Knobs`.

    ``data_dir`` holds the state (``tensorbay.sqlite3``, ``blobs/``, ``signing.key``); it is
    created if needed and reused across restarts. ``tokens`` are the accepted ``X-Token``
    values; when empty, only :data:`LOCAL_TOKEN` is accepted. ``faults`` adds latency and
    injected failures (with TensorBay-style error bodies). ``url_ttl`` is the lifetime of
    download URLs in seconds, ``upload_limit`` the ``multipleUploadLimit`` advertised in
    policies (and enforced on callbacks), ``clock`` the time source of signatures and
    expiries (tests move it forward). ``storage_port`` is the port of a
    :class:`~.storage_host.StorageHost` on the same host: policies then name it as their
    upload host (``/storage/upload`` is still served here too).
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    emu = h.Emulator(
        db=Database(data_dir / "tensorbay.sqlite3"),
        blobs=BlobStore(data_dir / "blobs"),
        signer=Signer(load_secret(data_dir), clock),
        tokens=frozenset(tokens) or frozenset({LOCAL_TOKEN}),
        url_ttl=url_ttl,
        upload_limit=upload_limit,
        storage_port=storage_port,
    )
    app = Starlette(
        routes=_routes(emu),
        exception_handlers={404: _http_error, 405: _http_error, sqlite3.Error: _storage_failed, OSError: _storage_failed, Exception: _bug},
    )
    config = replace(faults) if faults is not None else FaultConfig()
    if config.error_body is None:
        config.error_body = injected_error_body
    return Knobs(_with_uploads(app, emu), config)


def _with_uploads(app: ASGIApp, emu: h.Emulator) -> ASGIApp:
    """``app`` with ``/storage/upload`` answered by :func:`storage.upload_app` ahead of it.

    Uploads are most of an apply's requests; the bare handler costs a fraction of a routed
    Starlette endpoint, which keeps the emulator off the critical path of the client's
    throughput (benchmarks/emulator_tensorbay.py).
    """

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == storage.UPLOAD_PATH:
            await storage.upload_app(scope, receive, send, emu.signer, emu.blobs)
        else:
            await app(scope, receive, send)

    return dispatch
