"""Fixtures for the TensorBay emulator tests: an embedded server and an httpx client."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import API_PREFIX, create_app

TENSORBAY_TOKEN = "Accesskey-" + "0" * 32


@pytest.fixture
def tensorbay_server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    """A TensorBay emulator on an ephemeral loopback port, state in ``tmp_path/tb``."""
    with EmbeddedServer(create_app(tmp_path / "tb", tokens=[TENSORBAY_TOKEN])) as server:
        yield server


@pytest.fixture
def tensorbay_api(tensorbay_server: EmbeddedServer) -> Iterator[httpx.Client]:
    """An httpx client on the emulator's Open-API root, authenticated."""
    with httpx.Client(
        base_url=f"{tensorbay_server.url}{API_PREFIX}/", headers={"X-Token": TENSORBAY_TOKEN}, timeout=30
    ) as client:
        yield client


class TensorbayDriver:
    """Small helpers over the raw API for the emulator's own tests (no client-side code)."""

    def __init__(self, api: httpx.Client) -> None:
        self.api = api

    def dataset(self, name: str = "ds", fusion: bool = False) -> str:
        response = self.api.post("datasets", json={"name": name, "type": int(fusion)})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def draft(self, dataset_id: str, branch: str = "main", title: str = "draft") -> int:
        response = self.api.post(f"datasets/{dataset_id}/drafts", json={"branchName": branch, "title": title})
        assert response.status_code == 200, response.text
        return int(response.json()["draftNumber"])

    def segment(self, dataset_id: str, draft: int, name: str = "seg") -> None:
        response = self.api.post(f"datasets/{dataset_id}/segments", json={"name": name, "draftNumber": draft})
        assert response.status_code in (200, 201), response.text

    def policy(self, dataset_id: str, draft: int, segment: str = "seg") -> dict[str, Any]:
        response = self.api.get(
            f"datasets/{dataset_id}/policies",
            params={"expired": 240, "segmentName": segment, "draftNumber": draft},
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    @staticmethod
    def form(policy: dict[str, Any], key: str) -> dict[str, str]:
        fields = {k: v for k, v in policy["result"].items() if k != "multipleUploadLimit" and v is not None}
        return {**fields, "key": key, "Content-Type": ""}

    def put_object(
        self, policy: dict[str, Any], data: bytes, client: httpx.Client | None = None
    ) -> httpx.Response:
        """Upload ``data`` the way the SDK does (fields first, ``file`` last)."""
        key = policy["extra"]["objectPrefix"] + hashlib.sha1(data).hexdigest()
        return (client or self.api).post(
            policy["extra"]["host"],
            data=self.form(policy, key),
            files={"file": ("", data)},
            headers={"X-Token": ""},
        )

    def upload(self, dataset_id: str, draft: int, files: dict[str, bytes], segment: str = "seg") -> None:
        """Upload and register ``{remotePath: bytes}`` with one callback."""
        policy = self.policy(dataset_id, draft, segment)
        objects = []
        for path, data in files.items():
            assert self.put_object(policy, data).status_code == 200
            objects.append(
                {"checksum": hashlib.sha1(data).hexdigest(), "fileSize": len(data), "remotePath": path}
            )
        self.callback(dataset_id, draft, objects, segment)

    def callback(
        self, dataset_id: str, draft: int, objects: list[dict[str, Any]], segment: str = "seg"
    ) -> None:
        body = {"segmentName": segment, "objects": objects, "draftNumber": draft}
        response = self.api.put(f"datasets/{dataset_id}/multi/callback", json=body)
        assert response.status_code == 200, response.text

    def commit(self, dataset_id: str, draft: int, title: str = "commit", **extra: Any) -> str:
        response = self.api.post(
            f"datasets/{dataset_id}/commits", json={"title": title, "draftNumber": draft, **extra}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["commitId"])

    def details(self, dataset_id: str, segment: str = "seg", **version: Any) -> list[dict[str, Any]]:
        """Every ``data/details`` item, page by page."""
        items: list[dict[str, Any]] = []
        while True:
            params = {"segmentName": segment, "offset": len(items), "limit": 128, **version}
            response = self.api.get(f"datasets/{dataset_id}/data/details", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            items += page["dataDetails"]
            if len(items) >= page["totalCount"] or not page["dataDetails"]:
                return items


@pytest.fixture
def tensorbay(tensorbay_api: httpx.Client) -> TensorbayDriver:
    """Raw-API helpers bound to the embedded emulator."""
    return TensorbayDriver(tensorbay_api)
