"""A whole apply behind HTTPS_PROXY: the CLI process, a real proxy process, a TLS emulator."""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path

import httpx

from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import create_app
from tests.support.http_proxy import running_proxy
from tests.support.repo import run_cli, write_repo
from tests.support.tensorbay import API, TOKEN
from tests.support.tls import self_signed


def test_apply_behind_an_https_proxy_uploads_through_it_and_replans_to_no_changes(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    files = {f"img{i}.jpg": hashlib.sha256(str(i).encode()).digest() * 8 for i in range(12)}
    with EmbeddedServer(create_app(tmp_path / "tb", tokens=[TOKEN]), ssl_certfile=str(cert), ssl_keyfile=str(key)) as server, running_proxy(tmp_path) as (proxy, log):
        repo = write_repo(tmp_path / "repo", server.url, files)
        env = {"HTTPS_PROXY": proxy, "NO_PROXY": "", "no_proxy": "", "SSL_CERT_FILE": str(cert)}
        result = run_cli(["apply", ".", "--auto-approve", "--jobs", "4"], repo, TOKEN, extra_env=env)
        assert result.code == 0, result.text
        again = run_cli(["plan", ".", "--detailed-exitcode"], repo, TOKEN, extra_env=env)
        assert again.code == 0, again.text
        with httpx.Client(base_url=server.url + API, headers={"X-Token": TOKEN}, verify=ssl.create_default_context(cafile=str(cert))) as api:
            ds = api.get("datasets", params={"name": "ds1"}).json()["datasets"][0]["id"]
            head = api.get(f"datasets/{ds}/commits", params={"commit": "main"}).json()["commits"][0]["commitId"]
            details = api.get(f"datasets/{ds}/data/details", params={"segmentName": "train", "commit": head, "limit": 128}).json()
        seen = log.read_text().splitlines()
    assert sorted(d["remotePath"] for d in details["dataDetails"]) == sorted(files)
    port = server.url.rsplit(":", 1)[1]
    assert seen and set(seen) == {f"CONNECT 127.0.0.1:{port}"}, seen  # API and uploads, all tunnelled
    assert len(seen) < len(files)  # connections kept alive inside the tunnels
