"""Thin Deepen API v2 endpoint methods (``api/deepen.md`` §3) over one httpx client.

Each method is one request and returns the response JSON; errors become labelsync errors
through :func:`labelsync.providers.http.raise_for_api` (DRF ``{"detail": ...}`` bodies are
understood there). Upload session URIs are used through :attr:`DeepenClient.storage`, a
second client that carries no ``Authorization`` header: the token never leaves for the
storage host.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from labelsync.providers.http import Stats, make_client, raise_for_api, translate_transport_errors

API_SUFFIX = "/api/v2"


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

    def close(self) -> None:
        self.http.close()
        self.storage.close()

    def call(self, method: str, path: str, *, what: str, params: dict[str, Any] | None = None, json: Any = None) -> Any:
        """Send one API request; return the JSON body (``{}`` when empty)."""
        with translate_transport_errors(what):
            response = self.http.request(method, path, params=params, json=json)
        raise_for_api(response, what=what, token_env=self.token_env)
        if not response.content.strip():
            return {}
        return response.json()

    # ------------------------------------------------------------------ datasets

    def find_datasets(self, name: str) -> list[str]:
        """The ids of the client's datasets named exactly ``name`` (``datasets_ids``)."""
        body = self.call("GET", f"clients/{self.client_id}/datasets_ids", what=f"find dataset '{name}'")
        return [str(d["dataset_id"]) for d in body.get("datasets", []) if d.get("dataset_name") == name]

    def get_dataset(self, dataset_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"datasets/{dataset_id}", what="read dataset"))

    def create_dataset(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.call("POST", f"clients/{self.client_id}/datasets", what=f"create dataset '{body.get('dataset_name')}'", json=body))

    def delete_dataset(self, dataset_id: str) -> None:
        self.call("DELETE", f"datasets/{dataset_id}", what="delete dataset")

    def process_uploaded_data(self, dataset_id: str, file_name: str) -> None:
        self.call("POST", f"datasets/{dataset_id}/process_uploaded_data", what="start processing", json={"file_name": file_name})

    def create_profile(self, profile: dict[str, Any]) -> str:
        """Save a labelling profile (``POST /clients/{id}/labelling_profiles``); its id."""
        body = self.call("POST", f"clients/{self.client_id}/labelling_profiles", what="save labelling profile", json=profile)
        return str(body["profile_id"])

    def get_profile(self, profile_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"labelling_profiles/{profile_id}", what="read labelling profile"))

    # ------------------------------------------------------------------ files and labels

    def list_files(self, dataset_id: str) -> list[dict[str, Any]]:
        return list(self.call("GET", f"datasets/{dataset_id}/files", what="list files").get("files", []))

    def labels_by_file(self, dataset_id: str, label_set: str = "default") -> dict[str, list[dict[str, Any]]]:
        """Every file id with its labels (``labels_with_file_ids_order=true``; all stages)."""
        body = self.call(
            "GET", f"datasets/{dataset_id}/labels", what="read labels",
            params={"labels_with_file_ids_order": "true", "labelSetId": label_set},
        )
        labels = body.get("labels") or {}
        return {str(k): list(v or []) for k, v in labels.items()} if isinstance(labels, dict) else {}

    def import_labels(self, dataset_id: str, labels: list[dict[str, Any]], label_set: str = "default") -> None:
        self.call(
            "POST", f"datasets/{dataset_id}/labels", what=f"import {len(labels)} label(s)",
            params={"labelSetId": label_set}, json={"type": "json", "labels": labels},
        )
