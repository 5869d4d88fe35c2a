"""The Label Studio provider's conformance harness: one real server per test session.

The server (``tests/support/labelstudio.py``) is started on first use and stopped at exit;
``serve`` deletes the suite's project from the previous test, so each test starts clean.
Without a label-studio executable ``serve`` skips (or fails under ``LABELSYNC_REQUIRE``).
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from labelsync.providers.labelstudio.project import title_for
from tests.providers.conformance.harness import Server, sha1, write_config, write_files, write_manifest
from tests.support import labelstudio as support

_RUNNING: list[support.Server] = []


def _server() -> support.Server:
    if not _RUNNING:
        binary = support.binary_or_skip(support.STARTUP_ENV)
        running = support.start(binary)
        atexit.register(running.stop)
        _RUNNING.append(running)
    return _RUNNING[0]


class LabelStudioHarness:
    name = "labelstudio"
    kill_files = 300
    kill_size = 64 * 1024
    kill_hold = None  # a real server has no knob to hold a request

    @contextmanager
    def serve(self, state: Path) -> Iterator[Server]:
        running = _server()
        server = Server(running.url, running.legacy_token)
        with self._http(server) as http:
            for project in self._projects(http, "conf"):
                http.delete(f"/api/projects/{project['id']}/").raise_for_status()
        yield server

    def write_repo(
        self, root: Path, server: Server, files: dict[str, bytes], labels: dict[str, dict[str, Any]], *,
        prune: bool = False, allow_replace: bool = False,
    ) -> Path:
        root.mkdir(parents=True, exist_ok=True)
        write_config(root, self.name, server.url)
        write_files(root, files, labels)
        write_manifest(root, {}, provider=self.name, prune=prune, allow_replace=allow_replace)
        return root

    def _http(self, server: Server) -> httpx.Client:
        return httpx.Client(base_url=server.url, headers={"Authorization": f"Token {server.token}"}, timeout=60)

    def _projects(self, http: httpx.Client, name: str) -> list[dict[str, Any]]:
        title = title_for(name)
        body = http.get("/api/projects", params={"title": title, "page_size": 100}).json()
        return [p for p in body["results"] if p["title"] == title]

    def _tasks(self, http: httpx.Client, name: str) -> list[dict[str, Any]]:
        found = self._projects(http, name)
        if not found:
            return []
        body = http.get("/api/tasks", params={"project": found[0]["id"], "page_size": 10000, "fields": "all"}).json()
        return list(body["tasks"])

    def remote_files(self, server: Server, name: str) -> dict[str, str]:
        with self._http(server) as http:
            return {t["data"]["remotePath"]: sha1(http.get(t["data"]["image"]).content) for t in self._tasks(http, name)}

    def remote_labels(self, server: Server, name: str) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        with self._http(server) as http:
            for task in self._tasks(http, name):
                boxes = []
                for prediction in task["predictions"]:
                    assert prediction["model_version"] == "labelsync", prediction
                    for region in prediction["result"]:
                        v, w, h = region["value"], region["original_width"], region["original_height"]
                        x, y = round(v["x"] * w / 100), round(v["y"] * h / 100)
                        boxes.append({"box2d": {"xmin": x, "ymin": y, "xmax": x + round(v["width"] * w / 100),
                                                "ymax": y + round(v["height"] * h / 100)},
                                      "category": v["rectanglelabels"][0]})  # fmt: skip
                if boxes:
                    out[task["data"]["remotePath"]] = {"BOX2D": boxes}
        return out

    def upload_under_way(self, server: Server, name: str) -> bool:
        return False
