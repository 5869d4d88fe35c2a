"""Resumable upload sessions over loopback: the GCS protocol of contract §7."""

from __future__ import annotations

import socket
import time
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.emulator.deepen.deepen_support import UNIT, Deepen, padded_zip


def session_id(url: str) -> str:
    return parse_qs(urlsplit(url).query)["upload_id"][0]


def test_upload_url_is_gcs_style_on_the_emulator(dp: Deepen) -> None:
    dataset = dp.create(1000)
    url = dataset["files"][0]["resumable_upload_url"]
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == dp.server.url
    assert parts.path == "/upload/storage/v1/b/deepen-emulator-uploads/o"
    query = parse_qs(parts.query)
    assert query["uploadType"] == ["resumable"]
    assert query["name"] == [f"client1/{dataset['dataset_id']}/images_data.zip"]
    assert dataset["files"][0]["file_size"] == 1000
    assert dataset["files"][0]["file_type"] == "application/zip"


def test_chunked_upload_then_object_json(dp: Deepen) -> None:
    data = padded_zip(3 * UNIT)
    dataset = dp.create(len(data))
    url = dataset["files"][0]["resumable_upload_url"]
    first = dp.put(url, data[:UNIT], f"bytes 0-{UNIT - 1}/{len(data)}")
    assert first.status_code == 308
    assert first.headers["Range"] == f"bytes=0-{UNIT - 1}"
    assert "Location" not in first.headers
    assert first.content == b""
    second = dp.put(url, data[UNIT : 3 * UNIT], f"bytes {UNIT}-{3 * UNIT - 1}/*")
    assert second.status_code == 308
    assert second.headers["Range"] == f"bytes=0-{3 * UNIT - 1}"
    last = dp.put(url, data[3 * UNIT :], f"bytes {3 * UNIT}-{len(data) - 1}/{len(data)}")
    assert last.status_code == 200
    obj = last.json()
    assert obj["kind"] == "storage#object"
    assert obj["size"] == str(len(data))
    assert obj["name"] == f"client1/{dataset['dataset_id']}/images_data.zip"
    assert obj["contentType"] == "application/zip"
    assert obj["md5Hash"]
    # Complete sessions answer the object again, for chunks and status queries alike.
    again = dp.put(url, b"", f"bytes */{len(data)}")
    assert again.status_code == 200 and again.json()["md5Hash"] == obj["md5Hash"]
    body = dp.api.get(f"/datasets/{dataset['dataset_id']}").json()
    assert body["uploaded_files"] == ["images_data.zip"]
    assert (body["current_stage"], body["current_stage_status"]) == ("FileUpload", "done")
    media = dp.api.get(f"/datasets/{dataset['dataset_id']}/uploaded_dataset_signed_media_link").json()
    assert dp.raw.get(media["uploaded_dataset_signed_media_link"]).content == data


def test_single_request_upload(dp: Deepen) -> None:
    data = padded_zip(1000)
    dataset = dp.create(len(data))
    response = dp.put(dataset["files"][0]["resumable_upload_url"], data)
    assert response.status_code == 200
    assert response.json()["size"] == str(len(data))


def test_single_request_of_wrong_size_is_400(dp: Deepen) -> None:
    dataset = dp.create(5000)
    response = dp.put(dataset["files"][0]["resumable_upload_url"], b"x" * 4000)
    assert response.status_code == 400
    assert "declared size" in response.json()["error"]["message"]


def test_chunk_not_multiple_of_256k_is_refused(dp: Deepen) -> None:
    dataset = dp.create(3 * UNIT)
    url = dataset["files"][0]["resumable_upload_url"]
    response = dp.put(url, b"x" * (UNIT + 1), f"bytes 0-{UNIT}/{3 * UNIT}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 400
    assert "262144" in response.json()["error"]["message"]
    status = dp.put(url, b"", f"bytes */{3 * UNIT}")
    assert status.status_code == 308 and "Range" not in status.headers


def test_last_chunk_may_be_any_size(dp: Deepen) -> None:
    data = padded_zip(UNIT)
    dataset = dp.create(len(data))
    assert len(data) % UNIT
    assert dp.upload(dataset["files"][0]["resumable_upload_url"], data, chunk=UNIT).status_code == 200


def test_total_size_mismatch_is_400(dp: Deepen) -> None:
    dataset = dp.create(2 * UNIT)
    url = dataset["files"][0]["resumable_upload_url"]
    assert dp.put(url, b"x" * UNIT, f"bytes 0-{UNIT - 1}/{3 * UNIT}").status_code == 400
    assert dp.put(url, b"", f"bytes */{3 * UNIT}").status_code == 400


def test_bad_content_range_is_400(dp: Deepen) -> None:
    dataset = dp.create(2 * UNIT)
    url = dataset["files"][0]["resumable_upload_url"]
    assert dp.put(url, b"x" * 10, "bytes=0-9/100").status_code == 400
    assert dp.put(url, b"x" * 10, f"bytes 0-99/{2 * UNIT}").status_code == 400  # range vs body length


def test_status_queries(dp: Deepen) -> None:
    data = padded_zip(2 * UNIT)
    dataset = dp.create(len(data))
    url = dataset["files"][0]["resumable_upload_url"]
    empty = dp.put(url, b"", f"bytes */{len(data)}")
    assert empty.status_code == 308 and "Range" not in empty.headers
    dp.put(url, data[:UNIT], f"bytes 0-{UNIT - 1}/{len(data)}")
    for query in (f"bytes */{len(data)}", "bytes */*"):
        status = dp.put(url, b"", query)
        assert status.status_code == 308
        assert status.headers["Range"] == f"bytes=0-{UNIT - 1}"
    no308 = dp.put(url, b"", "bytes */*", **{"X-GUploader-No-308": "yes"})
    assert no308.status_code == 200
    assert no308.headers["X-HTTP-Status-Code-Override"] == "308"
    assert no308.headers["Range"] == f"bytes=0-{UNIT - 1}"


def test_resent_bytes_are_ignored_and_gaps_answer_the_real_range(dp: Deepen) -> None:
    data = padded_zip(3 * UNIT)
    dataset = dp.create(len(data))
    url = dataset["files"][0]["resumable_upload_url"]
    dp.put(url, data[:UNIT], f"bytes 0-{UNIT - 1}/{len(data)}")
    gap = dp.put(url, data[2 * UNIT : 3 * UNIT], f"bytes {2 * UNIT}-{3 * UNIT - 1}/{len(data)}")
    assert gap.status_code == 308 and gap.headers["Range"] == f"bytes=0-{UNIT - 1}"
    overlap = dp.put(url, data[: 2 * UNIT], f"bytes 0-{2 * UNIT - 1}/{len(data)}")
    assert overlap.headers["Range"] == f"bytes=0-{2 * UNIT - 1}"
    assert dp.put(url, data[2 * UNIT :], f"bytes {2 * UNIT}-{len(data) - 1}/{len(data)}").status_code == 200
    media = dp.api.get(f"/datasets/{dataset['dataset_id']}/uploaded_dataset_signed_media_link").json()
    assert dp.raw.get(media["uploaded_dataset_signed_media_link"]).content == data


def test_cancel_is_499_then_404(dp: Deepen) -> None:
    dataset = dp.create(2 * UNIT)
    url = dataset["files"][0]["resumable_upload_url"]
    dp.put(url, b"x" * UNIT, f"bytes 0-{UNIT - 1}/{2 * UNIT}")
    cancel = dp.raw.delete(url)
    assert cancel.status_code == 499
    assert cancel.content == b""
    assert dp.put(url, b"", "bytes */*").status_code == 404


def test_unknown_session_is_404(dp: Deepen) -> None:
    url = f"{dp.server.url}/upload/storage/v1/b/deepen-emulator-uploads/o?uploadType=resumable&name=x&upload_id=nope"
    response = dp.put(url, b"", "bytes */*")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == 404
    assert dp.raw.delete(url).status_code == 404


def test_deleted_dataset_session_is_404(dp: Deepen) -> None:
    dataset = dp.create(2 * UNIT)
    assert dp.api.delete(f"/datasets/{dataset['dataset_id']}").status_code == 200
    assert dp.put(dataset["files"][0]["resumable_upload_url"], b"", "bytes */*").status_code == 404


def raw_interrupted_put(url: str, content_range: str, declared: int, data: bytes) -> None:
    """Send a PUT declaring ``declared`` body bytes, send only ``data``, then close the socket."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        head = (
            f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Length: {declared}\r\nContent-Range: {content_range}\r\n\r\n"
        )
        sock.sendall(head.encode() + data)


def test_status_after_interrupted_chunk_returns_persisted_range(dp: Deepen) -> None:
    data = padded_zip(6 * UNIT)
    dataset = dp.create(len(data))
    url = dataset["files"][0]["resumable_upload_url"]
    dp.put(url, data[:UNIT], f"bytes 0-{UNIT - 1}/{len(data)}")
    # A 4-unit chunk cut off after 2.5 units: the emulator keeps the aligned 2 units it got.
    raw_interrupted_put(
        url, f"bytes {UNIT}-{5 * UNIT - 1}/{len(data)}", 4 * UNIT, data[UNIT : UNIT + 5 * UNIT // 2]
    )
    # The status query must not overtake the broken-off request on its own connection.
    deadline = time.monotonic() + 10
    while dp.admin.get(f"/uploads/{session_id(url)}").json()["bytes_received"] < UNIT + 5 * UNIT // 2:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    status = dp.put(url, b"", f"bytes */{len(data)}")
    assert status.status_code == 308
    assert status.headers["Range"] == f"bytes=0-{3 * UNIT - 1}"
    done = dp.put(url, data[3 * UNIT :], f"bytes {3 * UNIT}-{len(data) - 1}/{len(data)}")
    assert done.status_code == 200
    media = dp.api.get(f"/datasets/{dataset['dataset_id']}/uploaded_dataset_signed_media_link").json()
    assert dp.raw.get(media["uploaded_dataset_signed_media_link"]).content == data


def test_armed_drop_then_resume_sends_only_the_rest(dp: Deepen) -> None:
    data = padded_zip(8 * UNIT)
    dataset = dp.create(len(data))
    url = dataset["files"][0]["resumable_upload_url"]
    assert dp.admin.post("/uploads/drop_next", json={"after_bytes": 3 * UNIT + 100}).status_code == 200
    try:
        dp.put(url, data[: 8 * UNIT], f"bytes 0-{8 * UNIT - 1}/{len(data)}")
        raise AssertionError("the emulator should have dropped the connection")
    except httpx.TransportError:
        pass
    status = dp.put(url, b"", f"bytes */{len(data)}")
    assert status.headers["Range"] == f"bytes=0-{3 * UNIT - 1}"
    rest = data[3 * UNIT :]
    assert dp.put(url, rest, f"bytes {3 * UNIT}-{len(data) - 1}/{len(data)}").status_code == 200
    state = dp.admin.get(f"/uploads/{session_id(url)}").json()
    assert state["complete"] is True and state["persisted"] == len(data)
    assert state["bytes_received"] == 3 * UNIT + 100 + len(rest)
