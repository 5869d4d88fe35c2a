"""Thin Deepen API v2 endpoint methods (``api/deepen.md`` §3) over one httpx client.

Each method is one request and returns the response JSON, checked at this boundary against
a small wire model (extra keys kept) by :func:`labelsync.providers.answers.request_json`: an
answer that is not JSON or has the wrong shape is a one-line
:class:`~labelsync.errors.BadAnswerError`. Errors become labelsync errors through
:func:`labelsync.providers.http.raise_for_api` (DRF ``{"detail": ...}`` bodies are
understood there). Only requests safe to repeat are retried; creating the dataset is not,
and after an ambiguous failure it looks for the dataset by name (and its digest tag) before
creating it again. Upload session URIs are used through :attr:`DeepenClient.storage`, a
second client that carries no ``Authorization`` header: the token never leaves for the
storage host, and caps every answer at
:data:`~labelsync.providers.limits.MAX_UPLOAD_ANSWER_BYTES` (a storage host answers a few
hundred bytes).
"""

from __future__ import annotations

from typing import Any, NotRequired
from urllib.parse import parse_qs, urlsplit

import httpx
from typing_extensions import TypedDict

from labelsync.providers import limits
from labelsync.providers.answers import converge, request_json, wire
from labelsync.providers.http import MAX_BYTES, Stats, make_client


@wire
class _DatasetId(TypedDict):
    dataset_id: str
    dataset_name: str


@wire
class _DatasetIds(TypedDict):
    datasets: list[_DatasetId]


@wire
class _UploadFile(TypedDict):
    resumable_upload_url: str


@wire
class _Dataset(TypedDict):
    dataset_id: str
    dataset_name: str
    dataset_type: str
    processing_status: str
    tags: list[str]
    files: NotRequired[list[_UploadFile]]


@wire
class _ProfileId(TypedDict):
    profile_id: str


@wire
class _Profile(TypedDict):
    pipeline_spec: list[dict[str, Any]]
    features: NotRequired[dict[str, Any]]


@wire
class _File(TypedDict):
    file_id: str


@wire
class _Files(TypedDict):
    files: list[_File]


@wire
class _Labels(TypedDict):
    labels: dict[str, list[dict[str, Any]] | None]


API_SUFFIX = "/api/v2"


def _cap_upload_answer(request: httpx.Request) -> None:
    request.extensions.setdefault(MAX_BYTES, limits.MAX_UPLOAD_ANSWER_BYTES)


def api_root(url: str) -> str:
    """The API base with a trailing slash. A bare server url (``http://127.0.0.1:8080``, the
    embedded emulator) gets ``/api/v2`` appended; a url with a path is taken as the API base."""
    base = url.rstrip("/")
    if not urlsplit(base).path:
        base += API_SUFFIX
    return base + "/"


def upload_file_name(session_url: str) -> str:
    """The ``file_name`` for ``process_uploaded_data``: last path segment of the ``name`` query."""
    name = parse_qs(urlsplit(session_url).query).get("name", [""])[0]
    return name.rsplit("/", 1)[-1]


class DeepenClient:
    """Endpoint methods bound to one remote (url, token, client id). Thread-safe."""

    def __init__(
        self,
        url: str,
        token: str,
        client_id: str,
        *,
        token_env: str | None = None,
        transport: httpx.BaseTransport | None = None,
        stats: Stats | None = None,
        pool: int = 8,
    ) -> None:
        self.url = url
        self.client_id = client_id
        self.token_env = token_env
        self.http = make_client(
            api_root(url),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            secrets=[token],
            transport=transport,
            stats=stats,
            pool=pool,
        )
        self.storage = make_client("", headers={}, transport=transport, stats=stats, pool=pool, timeout=120)
        self.storage.event_hooks["request"].append(_cap_upload_answer)

    def close(self) -> None:
        self.http.close()
        self.storage.close()

    def call(
        self, method: str, path: str, *, what: str, params: dict[str, Any] | None = None, json: Any = None,
        shape: Any = None, retry: bool | None = None,
    ) -> Any:
        """Send one API request; return its JSON checked against ``shape`` (``{}`` when a write
        is answered with an empty body)."""
        return request_json(
            self.http, method, path, what=what, shape=shape, empty={} if method != "GET" else None,
            params=params, json_body=json, token_env=self.token_env, retry=retry,
        )

    # ------------------------------------------------------------------ datasets

    def find_datasets(self, name: str) -> list[str]:
        """The ids of the client's datasets named exactly ``name`` (``datasets_ids``)."""
        body = self.call("GET", f"clients/{self.client_id}/datasets_ids", what=f"find dataset '{name}'", shape=_DatasetIds)
        return [str(d["dataset_id"]) for d in body["datasets"] if d["dataset_name"] == name]

    def get_dataset(self, dataset_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"datasets/{dataset_id}", what="read dataset", shape=_Dataset))

    def create_dataset(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a dataset; after a lost answer, the dataset of this name carrying every tag
        of ``body`` (the digest tags) is the one created, and is returned instead."""
        name = str(body.get("dataset_name"))
        tags = set(body.get("tags") or [])

        def write() -> dict[str, Any]:
            answer = self.call("POST", f"clients/{self.client_id}/datasets", what=f"create dataset '{name}'", json=body, shape=_Dataset, retry=False)
            return dict(answer)

        def look() -> dict[str, Any] | None:
            for dataset_id in self.find_datasets(name):
                resource = self.get_dataset(dataset_id)
                if tags <= set(resource.get("tags") or []):
                    return resource
            return None

        return converge(write, look)

    def delete_dataset(self, dataset_id: str) -> None:
        self.call("DELETE", f"datasets/{dataset_id}", what="delete dataset")

    def process_uploaded_data(self, dataset_id: str, file_name: str) -> None:
        """Start processing; after a lost answer, a dataset no longer waiting for files started."""

        def write() -> bool:
            self.call("POST", f"datasets/{dataset_id}/process_uploaded_data", what="start processing", json={"file_name": file_name}, retry=False)
            return True

        def look() -> bool | None:
            return True if self.get_dataset(dataset_id)["processing_status"] != "files_to_be_uploaded" else None

        converge(write, look)

    def create_profile(self, profile: dict[str, Any]) -> str:
        """Save a labelling profile (``POST /clients/{id}/labelling_profiles``); its id."""
        # Repeating it saves a second, unused copy: harmless, so it is retried.
        body = self.call("POST", f"clients/{self.client_id}/labelling_profiles", what="save labelling profile", json=profile, shape=_ProfileId, retry=True)
        return str(body["profile_id"])

    def get_profile(self, profile_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"labelling_profiles/{profile_id}", what="read labelling profile", shape=_Profile))

    # ------------------------------------------------------------------ files and labels

    def list_files(self, dataset_id: str) -> list[dict[str, Any]]:
        return list(self.call("GET", f"datasets/{dataset_id}/files", what="list files", shape=_Files)["files"])

    def labels_by_file(self, dataset_id: str, label_set: str = "default") -> dict[str, list[dict[str, Any]]]:
        """Every file id with its labels (``labels_with_file_ids_order=true``; all stages)."""
        body = self.call(
            "GET", f"datasets/{dataset_id}/labels", what="read labels",
            params={"labels_with_file_ids_order": "true", "labelSetId": label_set}, shape=_Labels,
        )
        return {str(k): list(v or []) for k, v in body["labels"].items()}

    def import_labels(self, dataset_id: str, labels: list[dict[str, Any]], label_set: str = "default") -> None:
        self.call(
            "POST", f"datasets/{dataset_id}/labels", what=f"import {len(labels)} label(s)",
            params={"labelSetId": label_set}, json={"type": "json", "labels": labels}, retry=True,  # upserts by label_id
        )
