"""The Deepen provider's conformance harness: its emulator on loopback (an images dataset)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from labelsync.emulator.deepen import create_app
from labelsync.emulator.runtime import EmbeddedServer
from tests.providers.conformance.harness import Server, sha1, write_config, write_files, write_manifest

TOKEN = "deepen-conformance-token-0123456789"
CLIENT = "client-7"


class DeepenHarness:
    name = "deepen"
    # one zip over a resumable upload in 8 MiB chunks: 3 chunks; the kill waits for the first
    # chunk to be persisted and the second to be held
    kill_files = 20
    kill_size = 1024 * 1024
    kill_hold = ("PUT", r"^/upload/storage/", 2)  # the status query, the first chunk

    @contextmanager
    def serve(self, state: Path) -> Iterator[Server]:
        app = create_app(state, tokens=[TOKEN], processing_seconds=0.05)
        try:
            with EmbeddedServer(app) as srv:
                yield Server(f"{srv.url}/api/v2", TOKEN, app)
        finally:
            app.close()

    def write_repo(
        self, root: Path, server: Server, files: dict[str, bytes], labels: dict[str, dict[str, Any]], *,
        prune: bool = False, allow_replace: bool = False,
    ) -> Path:
        root.mkdir(parents=True, exist_ok=True)
        write_config(root, self.name, server.url, clientId=CLIENT)
        write_files(root, files, labels)
        write_manifest(root, {"datasetType": "images"}, provider=self.name, prune=prune, allow_replace=allow_replace)
        return root

    def _http(self, server: Server) -> httpx.Client:
        base = server.url.removesuffix("/api/v2")
        return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {server.token}"}, timeout=30)

    def _dataset(self, http: httpx.Client, name: str) -> str | None:
        """The id of the newest dataset called ``name`` that finished processing (a failed
        or half-made replacement is not the dataset users see)."""
        body = http.get(f"/api/v2/clients/{CLIENT}/datasets_ids").json()
        ids = [d["dataset_id"] for d in body["datasets"] if d["dataset_name"] == name]
        for ident in reversed(ids):
            state = http.get(f"/_admin/datasets/{ident}").json()
            if state["dataset"]["processing_status"] == "files_getting_labelled":
                return str(ident)
        return None

    def remote_files(self, server: Server, name: str) -> dict[str, str]:
        with self._http(server) as http:
            ident = self._dataset(http, name)
            if ident is None:
                return {}
            link = http.get(f"/api/v2/datasets/{ident}/uploaded_dataset_signed_media_link").json()
            archive = zipfile.ZipFile(io.BytesIO(http.get(link["uploaded_dataset_signed_media_link"]).content))
            files = {i.filename: sha1(archive.read(i)) for i in archive.infolist() if not i.is_dir()}
            listed = {f["file_id"] for f in http.get(f"/_admin/datasets/{ident}").json()["files"]}
        assert set(files) == listed, (sorted(files), sorted(listed))
        return files

    def remote_labels(self, server: Server, name: str) -> dict[str, dict[str, Any]]:
        with self._http(server) as http:
            ident = self._dataset(http, name)
            if ident is None:
                return {}
            body = http.get(f"/api/v2/datasets/{ident}/labels", params={"labels_with_file_ids_order": "true"}).json()
        out: dict[str, dict[str, Any]] = {}
        for file_id, labels in body["labels"].items():
            boxes = []
            for label in labels:
                assert label["label_type"] == "box", label  # the suite only makes boxes
                x, y, w, h = label["box"]
                boxes.append({"box2d": {"xmin": x, "ymin": y, "xmax": x + w, "ymax": y + h}, "category": label["label_category_id"]})
            if boxes:
                out[file_id] = {"BOX2D": boxes}
        return out

    def upload_under_way(self, server: Server, name: str) -> bool:
        with self._http(server) as http:
            body = http.get(f"/api/v2/clients/{CLIENT}/datasets_ids").json()
            for entry in body["datasets"]:
                if entry["dataset_name"] != name:
                    continue
                for upload in http.get(f"/_admin/datasets/{entry['dataset_id']}").json()["uploads"]:
                    session = http.get(f"/_admin/uploads/{upload['upload_id']}").json()
                    if not session["complete"] and 0 < session["persisted"] < session["file_size"]:
                        return True
        return False
