"""The deterministic zip, and the resumable uploader against the emulator's session URIs."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from labelsync.errors import LocalDataError, RemoteError
from labelsync.providers.deepen.client import DeepenClient, upload_file_name
from labelsync.providers.deepen.upload import ResumableUpload
from labelsync.providers.deepen.zipper import write_zip
from labelsync.providers.http import Stats, redact
from tests.providers.deepen.conftest import CLIENT, PNG, TOKEN, Emulator

UNIT = 256 * 1024


def _files(base: Path, order: list[str], mtime: int, mode: int) -> list[tuple[str, str]]:
    content = {"b.png": PNG + b"b", "a/x.json": b'{"k": [1, 2, 3]}' * 50, "c.jpg": b"\xff\xd8\xff" + bytes(300)}
    out = []
    for name in order:
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content[name])
        os.utime(path, (mtime, mtime))
        path.chmod(mode)
        out.append((name, str(path)))
    return out


def test_zip_is_byte_identical_whatever_order_mtime_and_mode(tmp_path: Path) -> None:
    one = write_zip(_files(tmp_path / "1", ["b.png", "a/x.json", "c.jpg"], 1_000_000, 0o600), tmp_path / "1.zip")
    two = write_zip(_files(tmp_path / "2", ["c.jpg", "b.png", "a/x.json"], 1_700_000_000, 0o755), tmp_path / "2.zip")
    assert one.path.read_bytes() == two.path.read_bytes()
    assert (one.size, one.sha256) == (two.size, two.sha256)
    with zipfile.ZipFile(one.path) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == ["a/x.json", "b.png", "c.jpg"]
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.external_attr >> 16 for i in infos} == {0o100644}
        assert [i.compress_type for i in infos] == [zipfile.ZIP_STORED] * 3  # no zlib: the same bytes on every machine
        assert archive.read("b.png") == PNG + b"b"


def test_zip_refuses_duplicates_and_unsafe_names(tmp_path: Path) -> None:
    src = tmp_path / "f"
    src.write_bytes(b"x")
    with pytest.raises(LocalDataError, match="two data files"):
        write_zip([("a", str(src)), ("a", str(src))], tmp_path / "z.zip")
    with pytest.raises(LocalDataError, match="not a safe relative path"):
        write_zip([("../a", str(src))], tmp_path / "z.zip")


def _session(emulator: Emulator, size: int, stats: Stats) -> tuple[DeepenClient, str, str]:
    client = DeepenClient(emulator.api, TOKEN, CLIENT, stats=stats)
    body = {"dataset_name": "u", "dataset_type": "images", "files": [{"file_size": size, "file_type": "application/zip"}]}
    created = client.create_dataset(body)
    url = created["files"][0]["resumable_upload_url"]
    upload_id = url.rsplit("upload_id=", 1)[1]
    return client, url, upload_id


def test_dropped_chunk_resumes_without_resending_persisted_bytes(emulator: Emulator, tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(bytes(i % 253 for i in range(10 * UNIT + 123)))
    total = data.stat().st_size
    stats = Stats()
    client, url, upload_id = _session(emulator, total, stats)
    emulator.post("/_admin/uploads/drop_next", {"after_bytes": 3 * UNIT + 7})
    progress: list[int] = []
    upload = ResumableUpload(client.storage, url, data, total, chunk=4 * UNIT, on_bytes=progress.append, sleep=lambda s: None)
    outcome = upload.run()
    session = emulator.get(f"/_admin/uploads/{upload_id}")
    assert session["complete"] and session["persisted"] == total
    # first chunk: 4 units sent, 3 units + 7 bytes arrived, 3 units kept; then 3 units..end
    assert outcome.sent == 4 * UNIT + (total - 3 * UNIT)
    assert session["bytes_received"] == 3 * UNIT + 7 + (total - 3 * UNIT)
    assert outcome.interruptions == 1
    assert sum(progress) == total
    # requests: status query, chunk 1 (dropped), status query, then 2 chunks to finish; no transport retry of a chunk
    assert outcome.requests == 5 and stats.retries == 0
    client.process_uploaded_data(created_id(emulator, upload_id), upload_file_name(url))
    client.close()


def created_id(emulator: Emulator, upload_id: str) -> str:
    return str(emulator.get(f"/_admin/uploads/{upload_id}")["dataset_id"])


def test_second_run_starts_at_the_persisted_offset(emulator: Emulator, tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(bytes(5 * UNIT))
    stats = Stats()
    client, url, upload_id = _session(emulator, 5 * UNIT, stats)
    emulator.post("/_admin/uploads/drop_next", {"after_bytes": 2 * UNIT})
    first = ResumableUpload(client.storage, url, data, 5 * UNIT, chunk=5 * UNIT, max_failures=1, sleep=lambda s: None)
    with pytest.raises(RemoteError):
        first.run()
    second = ResumableUpload(client.storage, url, data, 5 * UNIT, chunk=UNIT, sleep=lambda s: None).run()
    assert second.started_at == 2 * UNIT and second.sent == 3 * UNIT
    assert emulator.get(f"/_admin/uploads/{upload_id}")["complete"]
    # complete already: a third run sends nothing
    assert ResumableUpload(client.storage, url, data, 5 * UNIT).run().sent == 0
    client.close()


def test_expired_session_is_one_redacted_line(emulator: Emulator, tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(bytes(UNIT))
    client, url, upload_id = _session(emulator, UNIT, Stats())
    client.storage.delete(url)  # cancel: the URI is then unknown
    with pytest.raises(RemoteError) as err:
        ResumableUpload(client.storage, url, data, UNIT, sleep=lambda s: None).run()
    text = f"{err.value.message} {err.value.hint}"
    assert "expired or is unknown (HTTP 404)" in text
    assert upload_id not in text and upload_id not in redact(url)
    client.close()
