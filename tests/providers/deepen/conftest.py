"""A Deepen emulator on loopback per test, and small labelsync repositories that use it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from labelsync.emulator.deepen import create_app
from labelsync.emulator.runtime import EmbeddedServer

TOKEN = "deepen-test-token-0123456789"
TOKEN_ENV = "LS_DEEPEN_TOKEN"
CLIENT = "client-7"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))


@dataclass
class Emulator:
    """The running emulator: its base url, the API url and an admin client."""

    server: EmbeddedServer
    admin: httpx.Client

    @property
    def api(self) -> str:
        return f"{self.server.url}/api/v2"

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.admin.post(path, json=body or {})
        assert response.status_code == 200, response.text
        return response.json()

    def get(self, path: str) -> Any:
        response = self.admin.get(path)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    app = create_app(tmp_path / "deepen-state", tokens=[TOKEN], processing_seconds=0.1)
    with EmbeddedServer(app) as server, httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    ) as admin:
        yield Emulator(server, admin)
    app.close()


@pytest.fixture
def token_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    return TOKEN_ENV


def frame(points: int, image: str | None = None) -> bytes:
    """One 3d json frame (contract §8.1) as bytes."""
    images = []
    if image:
        images.append({"fx": 1000.0, "fy": 1000.0, "cx": 640.0, "cy": 360.0, "timestamp": 1.0, "image_url": image,
                       "position": {"x": 0.0, "y": 0.0, "z": 0.0}, "heading": {"w": 1.0, "x": 0.0, "y": 0.0, "z": 0.0},
                       "camera_model": "pinhole"})  # fmt: skip
    body = {
        "images": images,
        "timestamp": 1624164470.85,
        "points": [{"x": float(i), "y": 2.0, "z": 0.5, "i": 0.3} for i in range(points)],
        "device_position": {"x": 0.0, "y": 0.0, "z": 0.0},
        "device_heading": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0},
    }
    return json.dumps(body).encode()


def write_repo(
    root: Path,
    url: str,
    files: dict[str, bytes],
    *,
    name: str = "signs",
    spec: dict[str, Any] | None = None,
    labels: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """A repository: labelsync.yaml with remote ``dp`` (deepen at ``url``) and one manifest."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "labelsync.yaml").write_text(
        f"remotes:\n  dp: {{provider: deepen, url: '{url}', tokenEnv: {TOKEN_ENV}, clientId: {CLIENT}}}\n"
    )
    for rel, content in files.items():
        path = root / "data" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    lines = [json.dumps({"remotePath": p, "label": lab}) for p, lab in sorted((labels or {}).items())]
    (root / "labels.jsonl").write_text("".join(line + "\n" for line in lines))
    body = {
        "remote": "dp",
        "deepen": {"datasetType": "images"},
        "catalog": {"BOX2D": {"categories": [{"name": "sign"}, {"name": "car"}]}},
        "segments": [{"name": "main", "data": {"path": "data"}, "labels": {"path": "labels.jsonl"}}],
        **(spec or {}),
    }
    manifest = {"apiVersion": "labelsync/v1", "kind": "Dataset", "metadata": {"name": name}, "spec": body}
    (root / "dataset.yaml").write_text(json.dumps(manifest, indent=1))
    return root


def box(category: str = "sign", x: int = 1) -> dict[str, Any]:
    return {"BOX2D": [{"box2d": {"xmin": x, "ymin": 2, "xmax": x + 10, "ymax": 12}, "category": category}]}
