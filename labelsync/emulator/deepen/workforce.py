"""The admin API under ``/_admin``: the people who label, and test hooks. No faults; the caller
(:class:`~.app.DeepenEmulator`) lets only requests with an API token through.

Documented in the package docstring. All bodies and answers are JSON.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .errors import bad_request, not_found
from .resources import dataset_resource, file_status
from .rows import WORKFORCE_EMAIL
from .store import Store
from .upload import UploadHandler, durable_length
from .validation import parse_labels, require_object


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return require_object(json.loads(raw))
    except ValueError as exc:
        raise bad_request(f"JSON parse error - {exc}") from None


def admin_app(store: Store, uploads: UploadHandler, exception_handlers: dict[Any, Any]) -> Starlette:
    """The ``/_admin`` Starlette app over ``store`` and the upload handler."""

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    async def inspect(request: Request) -> Response:
        state, files = await run_in_threadpool(store.list_files, request.path_params["dataset_id"])
        stages = state.stages
        return JSONResponse(
            {
                "dataset": dataset_resource(state, base(request)),
                "files": [
                    {
                        "file_id": f.file_id,
                        "stage_id": stages[f.stage_index] if f.stage_index < len(stages) else None,
                        "stage_status": f.stage_status,
                        "status": file_status(f, stages),
                    }
                    for f in files
                ],
                "uploads": [
                    {"upload_id": s.upload_id, "name": s.name, "complete": s.complete} for s in state.sessions
                ],
            }
        )

    async def process_now(request: Request) -> Response:
        state = await run_in_threadpool(store.finish_processing_now, request.path_params["dataset_id"])
        return JSONResponse(dataset_resource(state, base(request)))

    async def move(request: Request) -> Response:
        body = await _body(request)
        action = body.get("action")
        file_ids = body.get("file_ids")
        stage_id = body.get("stage_id")
        if not isinstance(action, str):
            raise bad_request("action is required: start, submit, fail, reject or complete.")
        if file_ids is not None and (
            not isinstance(file_ids, list) or not all(isinstance(f, str) for f in file_ids)
        ):
            raise bad_request("file_ids must be a list of file ids.")
        if stage_id is not None and not isinstance(stage_id, str):
            raise bad_request("stage_id must be a string.")
        state = await run_in_threadpool(
            store.move_files, request.path_params["dataset_id"], action, file_ids, stage_id
        )
        return JSONResponse(dataset_resource(state, base(request)))

    async def complete(request: Request) -> Response:
        state = await run_in_threadpool(store.mark_labelling_done, request.path_params["dataset_id"])
        return JSONResponse(dataset_resource(state, base(request)))

    async def set_labels(request: Request) -> Response:
        body = await _body(request)
        labels = parse_labels(body, require_type=False)
        label_set_id = body.get("label_set_id") or "default"
        ident, file_id = request.path_params["dataset_id"], request.path_params["file_id"]
        await run_in_threadpool(store.get_file, ident, file_id)
        stored = await run_in_threadpool(
            lambda: store.save_labels(
                ident, str(label_set_id), labels, replace_file=file_id, labeller=WORKFORCE_EMAIL
            )
        )
        return JSONResponse({"labels": stored})

    async def drop_next(request: Request) -> Response:
        body = await _body(request)
        after = body.get("after_bytes")
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise bad_request("after_bytes must be a non-negative integer.")
        uploads.arm_drop(after)
        return JSONResponse({"armed": True, "after_bytes": after})

    async def upload_state(request: Request) -> Response:
        session = await run_in_threadpool(store.get_session, request.path_params["upload_id"])
        if session is None:
            raise not_found()
        persisted = await run_in_threadpool(durable_length, store.session_path(session.upload_id), session)
        return JSONResponse(
            {
                "upload_id": session.upload_id,
                "dataset_id": session.dataset_id,
                "name": session.name,
                "file_size": session.file_size,
                "persisted": persisted,
                "bytes_received": session.bytes_received,
                "complete": session.complete,
            }
        )

    routes = [
        Route("/_admin/datasets/{dataset_id}", inspect, methods=["GET"]),
        Route("/_admin/datasets/{dataset_id}/process_now", process_now, methods=["POST"]),
        Route("/_admin/datasets/{dataset_id}/workforce", move, methods=["POST"]),
        Route("/_admin/datasets/{dataset_id}/complete", complete, methods=["POST"]),
        Route("/_admin/datasets/{dataset_id}/files/{file_id:path}/labels", set_labels, methods=["POST"]),
        Route("/_admin/uploads/drop_next", drop_next, methods=["POST"]),
        Route("/_admin/uploads/{upload_id}", upload_state, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers=exception_handlers)
