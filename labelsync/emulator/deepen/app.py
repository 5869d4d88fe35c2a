"""The ``/api/v2`` routes of the Deepen emulator and :func:`create_app`, which assembles everything.

Every route needs ``Authorization: Bearer <token>`` with one of the configured tokens;
errors are DRF-style ``{"detail": "..."}``. Handlers parse the request, then run the
blocking :class:`~.store.Store` work in a threadpool.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..runtime import FaultConfig, Knobs, Receive, Scope, Send
from .errors import ApiError, bad_request, not_found
from .processing import inspect_upload
from .resources import dataset_resource, file_resource
from .rows import DatasetState, FileRow
from .store import Store
from .upload import UploadHandler
from .validation import normalize_profile, parse_create_dataset, parse_labels, require_object
from .workforce import admin_app

T = TypeVar("T")
LOCAL_TOKEN = "deepen-labelsync-local-emulator"
"""The token accepted when ``create_app`` is given none (loopback testing only; not a secret)."""
INJECTED_DETAILS = {
    429: "Request was throttled. Expected available in 1 second.",
    500: "A server error occurred.",
    503: "Service temporarily unavailable, try again later.",
}


def drf_error_body(status: int) -> dict[str, Any]:
    """The body of an injected fault, DRF-style."""
    return {"detail": INJECTED_DETAILS.get(status, f"Error {status}.")}


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking ``fn`` in the threadpool."""
    return await run_in_threadpool(fn, *args, **kwargs)


def base_url(request: Request) -> str:
    """The emulator's public base URL as the client reached it (scheme://host[:port])."""
    return str(request.base_url).rstrip("/")


def flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("true", "1", "yes")


def label_set(request: Request) -> str:
    return request.query_params.get("labelSetId") or request.query_params.get("label_set_id") or "default"


async def json_body(request: Request) -> Any:
    """The decoded JSON body ({} when empty); 400 DRF-style when it is not JSON."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise bad_request(f"JSON parse error - {exc}") from None


class Api:
    """Route handlers over one :class:`~.store.Store`."""

    def __init__(self, store: Store, tokens: Sequence[str]) -> None:
        self.store = store
        self.tokens = frozenset(tokens)

    def authenticate(self, request: Request) -> None:
        """401 unless ``Authorization: Bearer <known token>`` (DRF messages)."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.strip().partition(" ")
        challenge = {"WWW-Authenticate": 'Bearer realm="api"'}
        if scheme.lower() != "bearer":
            raise ApiError(401, "Authentication credentials were not provided.", challenge)
        token = token.strip()
        if not token:
            raise ApiError(401, "Invalid token header. No credentials provided.", challenge)
        if " " in token:
            raise ApiError(401, "Invalid token header. Token string should not contain spaces.", challenge)
        if token not in self.tokens:
            raise ApiError(401, "Invalid token.", challenge)

    def routes(self) -> list[Route]:
        def route(path: str, handler: Callable[[Request], Awaitable[Any]], methods: list[str]) -> Route:
            async def endpoint(request: Request) -> Response:
                self.authenticate(request)
                result = await handler(request)
                return result if isinstance(result, Response) else JSONResponse(result)

            return Route("/api/v2" + path, endpoint, methods=methods)

        return [
            route("/clients/{client_id}/datasets", self.list_datasets, ["GET"]),
            route("/clients/{client_id}/datasets", self.create_dataset, ["POST"]),
            route("/clients/{client_id}/datasets_ids", self.dataset_ids, ["GET"]),
            route("/clients/{client_id}/labelling_profiles", self.list_profiles, ["GET"]),
            route("/clients/{client_id}/labelling_profiles", self.create_profile, ["POST"]),
            route("/clients/{client_id}/labels_of_dataset_ids", self.labels_of_datasets, ["POST"]),
            route("/labelling_profiles/{profile_id}", self.get_profile, ["GET"]),
            route("/datasets/{dataset_id}", self.get_dataset, ["GET"]),
            route("/datasets/{dataset_id}", self.delete_dataset, ["DELETE"]),
            route("/datasets/{dataset_id}/process_uploaded_data", self.process, ["POST"]),
            route("/datasets/{dataset_id}/mark_labelling_done", self.mark_done, ["POST"]),
            route("/datasets/{dataset_id}/uploaded_dataset_signed_media_link", self.media_link, ["GET"]),
            route("/datasets/{dataset_id}/files", self.list_files, ["GET"]),
            route("/datasets/{dataset_id}/files/{rest:path}", self.file_get, ["GET"]),
            route("/datasets/{dataset_id}/files/{rest:path}", self.file_post, ["POST"]),
            route("/datasets/{dataset_id}/labels", self.dataset_labels, ["GET"]),
            route("/datasets/{dataset_id}/labels", self.import_labels, ["POST"]),
        ]

    # -- datasets ---------------------------------------------------------------------------

    async def create_dataset(self, request: Request) -> Any:
        body = require_object(await json_body(request))
        doc = parse_create_dataset(body)
        profile_id = body.get("labelling_profile_id")
        if profile_id:
            try:
                saved = await call(self.store.get_profile, str(profile_id))
            except ApiError:
                raise bad_request(f"labelling_profile_id {profile_id!r} does not exist.") from None
            profile = normalize_profile(saved)
        else:
            profile = normalize_profile(body.get("labelling_profile") or {})
        state = await call(self.store.create_dataset, request.path_params["client_id"], doc, profile)
        return dataset_resource(state, base_url(request))

    async def list_datasets(self, request: Request) -> Any:
        states = await call(self.store.list_datasets, request.path_params["client_id"])
        return {s.dataset_id: dataset_resource(s, base_url(request)) for s in states}

    async def dataset_ids(self, request: Request) -> Any:
        states = await call(self.store.list_datasets, request.path_params["client_id"])
        return {
            "datasets": [{"dataset_id": s.dataset_id, "dataset_name": s.doc["dataset_name"]} for s in states]
        }

    async def get_dataset(self, request: Request) -> Any:
        state = await call(self.store.get_dataset, dataset_id(request))
        return dataset_resource(state, base_url(request))

    async def delete_dataset(self, request: Request) -> Any:
        uploads = await call(self.store.delete_dataset, dataset_id(request))
        for upload_id in uploads:
            self.store.session_path(upload_id).unlink(missing_ok=True)
        return {}

    async def process(self, request: Request) -> Any:
        body = require_object(await json_body(request))
        file_name = body.get("file_name", "")
        if not isinstance(file_name, str):
            raise bad_request("file_name must be a string.")
        ident = dataset_id(request)
        if not file_name:
            state = await call(self.store.get_dataset, ident)
            if len(state.sessions) != 1:
                raise bad_request("file_name is required.")
            file_name = state.sessions[0].name
        state, session = await call(self.store.session_to_process, ident, file_name)
        if session is not None:
            outcome = await call(
                inspect_upload,
                self.store.session_path(session.upload_id),
                dataset_type=state.doc["dataset_type"],
                dataset_format=state.doc["dataset_format"],
                stored_name=session.name,
            )
            await call(self.store.start_processing, ident, session.name, outcome)
        return {}

    async def mark_done(self, request: Request) -> Any:
        await call(self.store.mark_labelling_done, dataset_id(request))
        return {}

    async def media_link(self, request: Request) -> Any:
        state = await call(self.store.get_dataset, dataset_id(request))
        session = next((s for s in state.sessions if s.complete), None)
        if session is None:
            raise not_found()
        link = f"{base_url(request)}/download/storage/v1/b/{session.object_name}?alt=media&upload_id={session.upload_id}"
        return {"uploaded_dataset_signed_media_link": link}

    # -- files and labels -----------------------------------------------------------------------

    async def list_files(self, request: Request) -> Any:
        state, files = await call(self.store.list_files, dataset_id(request))
        return {"files": [file_resource(f, state.stages) for f in files]}

    async def file_get(self, request: Request) -> Any:
        rest = request.path_params["rest"]
        if rest.endswith("/labels"):
            state, files, docs = await call(
                self.store.labels, dataset_id(request), label_set(request), file_id=rest[:-7]
            )
            return {"labels": select_labels(request, state, files, docs)}
        state, row = await call(self.store.get_file, dataset_id(request), rest)
        return file_resource(row, state.stages)

    async def file_post(self, request: Request) -> Any:
        rest = request.path_params["rest"]
        if not rest.endswith("/labels"):
            raise ApiError(405, 'Method "POST" not allowed.', {"Allow": "GET, OPTIONS"})
        file_id = rest[:-7]
        await call(self.store.get_file, dataset_id(request), file_id)
        labels = parse_labels(await json_body(request), require_type=False)
        stored = await call(
            self.store.save_labels, dataset_id(request), label_set(request), labels, replace_file=file_id
        )
        return {"labels": stored}

    async def dataset_labels(self, request: Request) -> Any:
        state, files, docs = await call(self.store.labels, dataset_id(request), label_set(request))
        docs = select_labels(request, state, files, docs)
        if flag(request, "labels_with_file_ids_order"):
            by_file: dict[str, list[dict[str, Any]]] = {f.file_id: [] for f in files}
            for doc in docs:
                by_file.setdefault(doc["file_id"], []).append(doc)
            return {"labels": by_file}
        return {"all_labels": docs}

    async def import_labels(self, request: Request) -> Any:
        labels = parse_labels(await json_body(request), require_type=True)
        await call(self.store.save_labels, dataset_id(request), label_set(request), labels)
        return {}

    async def labels_of_datasets(self, request: Request) -> Any:
        body = require_object(await json_body(request))
        ids = body.get("dataset_ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise bad_request("dataset_ids must be a list of dataset ids.")
        result: list[dict[str, Any]] = []
        for ident in ids:
            state, files, docs = await call(self.store.labels, ident, label_set(request))
            if state.client_id != request.path_params["client_id"]:
                raise not_found()
            result.extend(select_labels(request, state, files, docs))
        return {"labels": result}

    # -- labelling profiles ------------------------------------------------------------------------

    async def list_profiles(self, request: Request) -> Any:
        return {"profiles": await call(self.store.list_profiles, request.path_params["client_id"])}

    async def create_profile(self, request: Request) -> Any:
        profile = normalize_profile(await json_body(request))
        saved = await call(self.store.create_profile, request.path_params["client_id"], profile)
        return {"profile_id": saved["profile_id"]}

    async def get_profile(self, request: Request) -> Any:
        return await call(self.store.get_profile, request.path_params["profile_id"])


def dataset_id(request: Request) -> str:
    """The dataset id of the path; a legacy ``client:project:dataset`` id maps to its last part."""
    return str(request.path_params["dataset_id"]).split(":")[-1]


def select_labels(
    request: Request, state: DatasetState, files: list[FileRow], docs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Apply ``final=true`` and ``filter_existing_categories=true`` [INFERRED meanings].

    ``final``: only labels of files that passed every pipeline stage. ``filter_existing_categories``:
    only labels whose type is a profile feature listing their category.
    """
    if flag(request, "final"):
        finished = {f.file_id for f in files if f.stage_index >= len(state.stages)}
        docs = [d for d in docs if d["file_id"] in finished]
    if flag(request, "filter_existing_categories"):
        features = state.profile.get("features", {})
        docs = [
            d
            for d in docs
            if d.get("label_category_id")
            in features.get(d.get("label_type"), {}).get("label_category_ids", [])
        ]
    return docs


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        detail = "Not found."
    elif exc.status_code == 405:
        detail = f'Method "{request.method}" not allowed.'
    else:
        detail = exc.detail
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"detail": "A server error occurred."}, status_code=500)


EXCEPTION_HANDLERS: dict[Any, Any] = {ApiError: api_error, HTTPException: http_error, 500: server_error}


class DeepenEmulator(Knobs):
    """The whole emulator as one ASGI app: API, upload sessions and admin behind :class:`Knobs`.

    ``store`` and ``uploads`` are exposed for tests; :meth:`close` releases the database.
    """

    def __init__(self, store: Store, tokens: Sequence[str], config: FaultConfig) -> None:
        self.store = store
        self.uploads = UploadHandler(store)
        self.api = Starlette(routes=Api(store, tokens).routes(), exception_handlers=EXCEPTION_HANDLERS)
        self.admin = admin_app(store, self.uploads, EXCEPTION_HANDLERS)
        self._auth = Api(store, tokens)
        super().__init__(self._dispatch, config)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if path.startswith(("/upload/storage/", "/download/storage/")):
            await self.uploads(scope, receive, send)
        elif path.startswith("/_admin/") or path == "/_admin":
            try:  # the test hooks change state: they need the same token as the API
                self._auth.authenticate(Request(scope))
            except ApiError as exc:
                await (await api_error(Request(scope), exc))(scope, receive, send)
                return
            await self.admin(scope, receive, send)
        else:
            await self.api(scope, receive, send)

    def close(self) -> None:
        self.store.close()


def create_app(
    data_dir: Path,
    *,
    tokens: Sequence[str],
    faults: FaultConfig | None = None,
    processing_seconds: float = 0.5,
) -> DeepenEmulator:
    """The Deepen emulator ASGI app keeping its state under ``data_dir``.

    ``tokens``: the accepted Bearer tokens, on the API and on ``/_admin`` alike; when empty,
    only :data:`LOCAL_TOKEN` is accepted. ``faults``: latency and fault
    injection (injected errors get a DRF ``{"detail": ...}`` body unless the config brings
    its own ``error_body``). ``processing_seconds``: how long preprocessing takes after
    ``process_uploaded_data`` (the dataset shows ``files_uploaded`` meanwhile).
    """
    tokens = list(tokens) or [LOCAL_TOKEN]
    config = dataclasses.replace(faults) if faults is not None else FaultConfig()
    if config.error_body is None:
        config.error_body = drf_error_body
    store = Store(Path(data_dir), processing_seconds=processing_seconds)
    return DeepenEmulator(store, tokens, config)
