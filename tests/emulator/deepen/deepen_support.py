"""Helpers for the Deepen emulator tests: zips to upload and a small client (imported by the tests)."""

from __future__ import annotations

import io
import json
import time
import zipfile
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from labelsync.emulator.runtime import EmbeddedServer

TOKEN = "t"
CLIENT = "client1"
UNIT = 256 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
JPEG = b"\xff\xd8\xff\xe0" + bytes(64)


def images_zip(names: list[str] | None = None) -> bytes:
    """A zip of small images (PNG/JPEG signatures are enough for the emulator)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names or ["000019.png", "000009.png", "inner/000059.jpg"]:
            archive.writestr(name, JPEG if name.endswith(".jpg") else PNG)
    return buffer.getvalue()


def frame(points: int, image_url: str | None = None) -> dict[str, Any]:
    """One §8.1 LiDAR frame with ``points`` points."""
    images = []
    if image_url:
        images.append({"fx": 1000.0, "fy": 1000.0, "cx": 640.0, "cy": 360.0, "timestamp": 1.0, "image_url": image_url,
                       "position": {"x": 0.0, "y": 0.0, "z": 0.0}, "heading": {"w": 1.0, "x": 0.0, "y": 0.0, "z": 0.0},
                       "camera_model": "pinhole"})  # fmt: skip
    return {
        "images": images,
        "timestamp": 1624164470.85,
        "points": [{"x": float(i), "y": 2.0, "z": 0.5, "i": 0.3} for i in range(points)],
        "device_position": {"x": 0.0, "y": 0.0, "z": 0.0},
        "device_heading": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0},
    }


def json_frames_zip(frames: dict[str, Any], extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in frames.items():
            archive.writestr(name, content if isinstance(content, bytes) else json.dumps(content))
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def padded_zip(size: int) -> bytes:
    """A valid images zip of at least ``size`` bytes (a stored, incompressible filler entry)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("000001.png", PNG)
        archive.writestr("filler.bin", bytes((i * 7919) % 251 for i in range(size)))
    return buffer.getvalue()


class Deepen:
    """Test helper: an authenticated API client plus an unauthenticated upload client."""

    def __init__(self, server: EmbeddedServer) -> None:
        self.server = server
        self.api = httpx.Client(
            base_url=server.url + "/api/v2", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        )
        self.raw = httpx.Client(timeout=30, follow_redirects=False)
        self.admin = httpx.Client(
            base_url=server.url + "/_admin", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        )

    def close(self) -> None:
        for client in (self.api, self.raw, self.admin):
            client.close()

    def create(self, size: int, client: str = CLIENT, **body: Any) -> dict[str, Any]:
        payload = {
            "dataset_name": "ds",
            "dataset_type": "images",
            "labelling_mode": "frame_by_frame",
            "files": [{"file_size": size, "file_type": "application/zip"}],
            **body,
        }
        response = self.api.post(f"/clients/{client}/datasets", json=payload)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def put(self, url: str, data: bytes, content_range: str | None = None, **headers: str) -> httpx.Response:
        if content_range is not None:
            headers["Content-Range"] = content_range
        return self.raw.put(url, content=data, headers=headers)

    def upload(self, url: str, data: bytes, chunk: int = UNIT) -> httpx.Response:
        """Upload ``data`` in ``chunk``-sized pieces, resuming from each 308's Range."""
        total = len(data)
        offset = 0
        while True:
            piece = data[offset : offset + chunk]
            response = self.put(url, piece, f"bytes {offset}-{offset + len(piece) - 1}/{total}")
            if response.status_code != 308:
                return response
            offset = int(response.headers["Range"].split("-")[1]) + 1

    def process(self, dataset: dict[str, Any]) -> httpx.Response:
        name = parse_qs(urlsplit(dataset["files"][0]["resumable_upload_url"]).query)["name"][0].split("/")[-1]
        return self.api.post(
            f"/datasets/{dataset['dataset_id']}/process_uploaded_data", json={"file_name": name}
        )

    def wait(self, dataset_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """Poll GET dataset until processing ended."""
        deadline = time.monotonic() + timeout
        while True:
            body = dict(self.api.get(f"/datasets/{dataset_id}").json())
            if body["processing_status"] not in ("files_to_be_uploaded", "files_uploaded"):
                return body
            assert time.monotonic() < deadline, body
            time.sleep(0.05)

    def ready(self, data: bytes, **body: Any) -> dict[str, Any]:
        """Create, upload, process and wait: a dataset in ``files_getting_labelled``."""
        dataset = self.create(len(data), **body)
        assert self.upload(dataset["files"][0]["resumable_upload_url"], data).status_code == 200
        assert self.process(dataset).status_code == 200
        result = self.wait(dataset["dataset_id"])
        assert result["processing_status"] == "files_getting_labelled", result
        return result
