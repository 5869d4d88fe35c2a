"""The emulator as storage host: signed policies and URLs, checksums, persistence, concurrency."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from pathlib import Path

import httpx

from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import API_PREFIX, create_app
from tests.emulator.conftest import TENSORBAY_TOKEN, TensorbayDriver


class FakeClock:
    """A settable time source for signatures and expiries."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _driver(server: EmbeddedServer) -> TensorbayDriver:
    return TensorbayDriver(
        httpx.Client(base_url=f"{server.url}{API_PREFIX}/", headers={"X-Token": TENSORBAY_TOKEN})
    )


def _ready(tb: TensorbayDriver) -> tuple[str, dict]:
    ds = tb.dataset()
    tb.draft(ds)
    tb.segment(ds, 1)
    return ds, tb.policy(ds, 1)


def test_upload_refuses_tampered_expired_and_mismatched(tmp_path: Path) -> None:
    clock = FakeClock()
    with EmbeddedServer(create_app(tmp_path, tokens=[TENSORBAY_TOKEN], clock=clock)) as server:
        tb = _driver(server)
        ds, policy = _ready(tb)
        data = b"payload"
        key = policy["extra"]["objectPrefix"] + hashlib.sha1(data).hexdigest()
        host = policy["extra"]["host"]
        assert host.startswith(server.url)

        document = json.loads(base64.b64decode(policy["result"]["policy"]))
        document["expireAt"] += 3600
        tampered = base64.b64encode(json.dumps(document).encode()).decode()
        form = {**tb.form(policy, key), "policy": tampered}
        response = httpx.post(host, data=form, files={"file": ("", data)})
        assert response.status_code == 403 and response.json()["code"] == "SignatureDoesNotMatch"

        other_prefix = "0" * 32 + "/" + hashlib.sha1(data).hexdigest()
        response = httpx.post(host, data=tb.form(policy, other_prefix), files={"file": ("", data)})
        assert response.status_code == 403 and response.json()["code"] == "AccessDenied"

        response = httpx.post(host, data=tb.form(policy, key), files={"file": ("", b"other bytes")})
        assert response.status_code == 400 and response.json()["code"] == "BadDigest"

        response = httpx.post(host, data=tb.form(policy, key), files={"file": ("", data)})
        assert response.status_code == 200

        clock.now += 241
        response = httpx.post(host, data=tb.form(policy, key), files={"file": ("", data)})
        assert response.status_code == 403 and "expired" in response.json()["message"]


def test_download_urls_are_signed_and_expire(tmp_path: Path) -> None:
    clock = FakeClock()
    with EmbeddedServer(create_app(tmp_path, tokens=[TENSORBAY_TOKEN], clock=clock, url_ttl=60)) as server:
        tb = _driver(server)
        ds, _ = _ready(tb)
        tb.upload(ds, 1, {"a.bin": b"\x00\x01binary\xff"})
        (item,) = tb.details(ds, draftNumber=1)
        assert httpx.get(item["url"]).content == b"\x00\x01binary\xff"
        forged = item["url"].replace("signature=", "signature=0")
        assert httpx.get(forged).status_code == 403
        clock.now += 61
        expired = httpx.get(item["url"])
        assert expired.status_code == 403 and expired.json()["code"] == "AccessDenied"
        params = {"segmentName": "seg", "draftNumber": 1, "remotePath": "a.bin"}
        fresh = tb.api.get(f"datasets/{ds}/data/urls", params=params).json()["urls"][0]["url"]
        assert httpx.get(fresh).content == b"\x00\x01binary\xff"


def test_restart_keeps_state(tmp_path: Path) -> None:
    with EmbeddedServer(create_app(tmp_path, tokens=[TENSORBAY_TOKEN])) as server:
        tb = _driver(server)
        ds, _ = _ready(tb)
        tb.upload(ds, 1, {"a.txt": b"alpha", "b.txt": b"beta"})
        commit = tb.commit(ds, 1, "kept", tag="v1")
        old_url = tb.details(ds, commit=commit)[0]["url"]
        tb.draft(ds)
    with EmbeddedServer(create_app(tmp_path, tokens=[TENSORBAY_TOKEN])) as server:
        tb = _driver(server)
        items = tb.details(ds, commit="v1")
        assert [(i["remotePath"], httpx.get(i["url"]).content) for i in items] == [
            ("a.txt", b"alpha"),
            ("b.txt", b"beta"),
        ]
        path = old_url.split("/files/", 1)[1]
        assert httpx.get(f"{server.url}/files/{path}").content == b"alpha"  # same signing secret
        drafts = tb.api.get(f"datasets/{ds}/drafts", params={"status": "OPEN"}).json()["drafts"]
        assert [d["number"] for d in drafts] == [2]
        response = tb.api.post(f"datasets/{ds}/drafts", json={"branchName": "main", "title": "x"})
        assert response.status_code == 409


def test_sixteen_concurrent_clients_lose_nothing(tmp_path: Path) -> None:
    with EmbeddedServer(create_app(tmp_path, tokens=[TENSORBAY_TOKEN])) as server:
        tb = _driver(server)
        ds, policy = _ready(tb)
        errors: list[BaseException] = []

        def worker(index: int) -> None:
            try:
                with httpx.Client(
                    base_url=f"{server.url}{API_PREFIX}/", headers={"X-Token": TENSORBAY_TOKEN}
                ) as client:
                    mine = TensorbayDriver(client)
                    objects = []
                    for j in range(40):
                        data = f"client {index} file {j} ".encode() * (j + 1)
                        assert mine.put_object(policy, data).status_code == 200
                        objects.append(
                            {
                                "checksum": hashlib.sha1(data).hexdigest(),
                                "fileSize": len(data),
                                "remotePath": f"c{index:02d}/f{j:02d}",
                            }
                        )
                        if len(objects) == 10:
                            mine.callback(ds, 1, objects)
                            objects = []
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        items = tb.details(ds, draftNumber=1)
        assert len(items) == 16 * 40
        for item in items:
            index, j = int(item["remotePath"][1:3]), int(item["remotePath"][5:7])
            expected = f"client {index} file {j} ".encode() * (j + 1)
            assert item["checksum"] == hashlib.sha1(expected).hexdigest()
            assert item["fileSize"] == len(expected)
        assert httpx.get(items[-1]["url"]).content == b"client 15 file 39 " * 40


def test_one_open_draft_per_branch_under_concurrency(tmp_path: Path) -> None:
    with EmbeddedServer(create_app(tmp_path, tokens=[TENSORBAY_TOKEN])) as server:
        tb = _driver(server)
        ds = tb.dataset()
        statuses: list[int] = []
        barrier = threading.Barrier(12)

        def open_draft() -> None:
            with httpx.Client(
                base_url=f"{server.url}{API_PREFIX}/", headers={"X-Token": TENSORBAY_TOKEN}
            ) as client:
                barrier.wait()
                statuses.append(
                    client.post(
                        f"datasets/{ds}/drafts", json={"branchName": "main", "title": "t"}
                    ).status_code
                )

        threads = [threading.Thread(target=open_draft) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200] + [409] * 11


def test_split_multipart_keeps_exact_bytes_and_refuses_garbage() -> None:
    import pytest

    from labelsync.emulator.tensorbay.storage import split_multipart

    payload = b"\r\n--not-the-boundary\r\n\x00\xff"
    request = httpx.Request(
        "POST", "http://x/", data={"key": "k", "Content-Type": ""}, files={"file": ("", payload)}
    )
    boundary = request.headers["content-type"].split("boundary=")[1].encode()
    assert split_multipart(request.read(), boundary) == [
        (b"key", b"k"),
        (b"Content-Type", b""),
        (b"file", payload),
    ]
    with_name = httpx.Request(
        "POST", "http://x/", files={"file": ("a.bin", payload, "application/octet-stream")}
    )
    boundary = with_name.headers["content-type"].split("boundary=")[1].encode()
    assert split_multipart(with_name.read(), boundary) == [(b"file", payload)]
    for garbage in (b"", b"--b\r\nno end", b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nvalue"):
        with pytest.raises(ValueError):
            split_multipart(garbage, b"b")


def test_malformed_upload_is_an_s3_style_json_error(tensorbay_server: EmbeddedServer) -> None:
    response = httpx.post(
        f"{tensorbay_server.url}/storage/upload",
        content=b"junk",
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 400 and response.json()["code"] == "MalformedPOSTRequest"
    response = httpx.post(
        f"{tensorbay_server.url}/storage/upload", data={"key": "x"}, files={"file": ("", b"x")}
    )
    assert response.status_code == 403 and response.json()["code"] == "AccessDenied"  # no policy at all


def test_split_multipart_names_parts_by_their_content_disposition_header_in_any_case() -> None:
    from labelsync.emulator.tensorbay.storage import read_form, split_multipart

    body = (
        b"--b\r\ncontent-type: text/plain\r\n  CONTENT-DISPOSITION : form-data; name=key\r\n\r\nds/abc\r\n"
        b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\"\r\n\r\n\x00\r\n--b--\r\n"
    )
    assert split_multipart(body, b"b") == [(b"key", b"ds/abc"), (b"file", b"\x00")]
    assert read_form("multipart/form-data; boundary=b", body) == ({"key": "ds/abc"}, b"\x00")
    assert read_form('multipart/form-data; boundary="b"', body) == ({"key": "ds/abc"}, b"\x00")  # quoted: the general parser
