"""Read the TensorBay emulator's state back through its public API (for assertions)."""

from __future__ import annotations

import httpx

TOKEN = "Accesskey-integration-0123456789"
API = "/gatewayv2/tensorbay-open-api/v1/"


class Remote:
    """Read-only views of the emulator's state through its public API."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url + API, headers={"X-Token": TOKEN}, timeout=30)

    def dataset_id(self, name: str) -> str:
        return self.http.get("datasets", params={"name": name}).json()["datasets"][0]["id"]

    def commits(self, name: str) -> list[dict]:
        ds = self.dataset_id(name)
        return self.http.get(f"datasets/{ds}/commits", params={"commit": "main", "limit": 128}).json()["commits"]

    def items(self, name: str, segment: str = "train") -> dict[str, dict]:
        ds = self.dataset_id(name)
        head = self.commits(name)[0]["commitId"]
        out: dict[str, dict] = {}
        offset = 0
        while True:
            body = self.http.get(
                f"datasets/{ds}/data/details", params={"segmentName": segment, "commit": head, "offset": offset, "limit": 128}
            ).json()
            for d in body["dataDetails"]:
                out[d["remotePath"]] = d
            offset += 128
            if offset >= body["totalCount"]:
                return out

    def catalog(self, name: str) -> dict:
        ds = self.dataset_id(name)
        head = self.commits(name)[0]["commitId"]
        return self.http.get(f"datasets/{ds}/labels/catalogs", params={"commit": head}).json()["catalog"]

    def read(self, url: str) -> bytes:
        return httpx.get(url).content
