"""The TensorBay provider's conformance harness: its emulator on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import create_app
from tests.providers.conformance.harness import SEGMENT, Server, write_config, write_files, write_manifest
from tests.support.tensorbay import TOKEN, Remote


class TensorBayHarness:
    name = "tensorbay"
    # 600 blobs registered 200 per callback (the policy's batch): the kill waits for the first
    # batch to be registered and the 301st upload to be held
    kill_files = 600
    kill_size = 8192
    kill_hold = ("POST", r"^/storage/upload$", 300)

    @contextmanager
    def serve(self, state: Path) -> Iterator[Server]:
        app = create_app(state, tokens=[TOKEN])
        with EmbeddedServer(app) as srv:
            yield Server(srv.url, TOKEN, app)

    def write_repo(
        self, root: Path, server: Server, files: dict[str, bytes], labels: dict[str, dict[str, Any]], *,
        prune: bool = False, allow_replace: bool = False,
    ) -> Path:
        root.mkdir(parents=True, exist_ok=True)
        write_config(root, self.name, server.url)
        write_files(root, files, labels)
        write_manifest(root, {"type": "normal"}, provider=self.name, prune=prune, allow_replace=allow_replace)
        return root

    def _items(self, server: Server, name: str) -> dict[str, dict[str, Any]]:
        remote = Remote(server.url)
        try:
            return remote.items(name, SEGMENT)
        finally:
            remote.http.close()

    def remote_files(self, server: Server, name: str) -> dict[str, str]:
        return {path: item["checksum"] for path, item in self._items(server, name).items()}

    def remote_labels(self, server: Server, name: str) -> dict[str, dict[str, Any]]:
        return {path: item["label"] for path, item in self._items(server, name).items() if item.get("label")}

    def upload_under_way(self, server: Server, name: str) -> bool:
        remote = Remote(server.url)
        try:
            body = remote.http.get("datasets", params={"name": name}).json()
            if not body["totalCount"]:
                return False
            ds = body["datasets"][0]["id"]
            drafts = remote.http.get(f"datasets/{ds}/drafts", params={"status": "OPEN"}).json()["drafts"]
            if not drafts:
                return False
            count = remote.http.get(
                f"datasets/{ds}/data", params={"segmentName": SEGMENT, "draftNumber": drafts[0]["number"], "limit": 1}
            )
            return count.status_code == 200 and 0 < count.json()["totalCount"] < self.kill_files
        finally:
            remote.http.close()
