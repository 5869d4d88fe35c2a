"""The emulator's pack-file blob store: durability, torn writes, two processes, the old layout."""

from __future__ import annotations

import hashlib
from pathlib import Path

from labelsync.emulator.tensorbay.blobs import RECORD, BlobStore


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def test_blobs_survive_a_restart_and_refuse_a_wrong_digest(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    assert store.put(sha1(b"one"), b"one") and store.put(sha1(b"two" * 1000), b"two" * 1000)
    assert not store.put(sha1(b"three"), b"not three")
    assert store.size(sha1(b"three")) is None
    store.close()
    again = BlobStore(tmp_path)
    assert again.size(sha1(b"one")) == 3
    assert b"".join(again.iter_bytes(sha1(b"two" * 1000), chunk=7)) == b"two" * 1000


def test_identical_content_is_stored_once(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    for _ in range(3):
        assert store.put(sha1(b"same"), b"same")
    packs = list((tmp_path / "packs").glob("*.pack"))
    assert [p.stat().st_size for p in packs] == [4]


def test_a_torn_index_record_or_missing_bytes_are_ignored(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    store.put(sha1(b"kept"), b"kept")
    store.close()
    index = next((tmp_path / "packs").glob("*.idx"))
    with index.open("ab") as handle:  # a record whose bytes never reached the pack, then a torn one
        handle.write(RECORD.pack(bytes.fromhex(sha1(b"lost")), 4, 4))
        handle.write(b"\x00" * 10)
    reopened = BlobStore(tmp_path)
    assert reopened.size(sha1(b"kept")) == 4
    assert reopened.size(sha1(b"lost")) is None


def test_two_stores_on_one_directory_see_each_other(tmp_path: Path) -> None:
    first, second = BlobStore(tmp_path), BlobStore(tmp_path)
    first.put(sha1(b"from first"), b"from first")
    second.put(sha1(b"from second"), b"from second")
    assert second.size(sha1(b"from first")) == len(b"from first")
    assert b"".join(first.iter_bytes(sha1(b"from second"))) == b"from second"
    assert len(list((tmp_path / "packs").glob("*.pack"))) == 2


def test_blobs_of_the_one_file_per_blob_layout_are_still_read(tmp_path: Path) -> None:
    digest = sha1(b"legacy")
    (tmp_path / digest[:2]).mkdir(parents=True)
    (tmp_path / digest[:2] / digest).write_bytes(b"legacy")
    store = BlobStore(tmp_path)
    assert store.size(digest) == 6
    assert b"".join(store.iter_bytes(digest)) == b"legacy"


def test_a_record_read_before_its_bytes_landed_is_picked_up_later(tmp_path: Path) -> None:
    reader, writer = BlobStore(tmp_path), BlobStore(tmp_path)
    writer.put(sha1(b"first"), b"first")
    pack = next((tmp_path / "packs").glob("*.pack"))
    index = pack.with_suffix(".idx")
    with index.open("ab") as handle:  # another process wrote the record; its bytes are not there yet
        handle.write(RECORD.pack(bytes.fromhex(sha1(b"later")), 5, 5))
    assert reader.size(sha1(b"first")) == 5
    assert reader.size(sha1(b"later")) is None
    with pack.open("ab") as handle:  # ... and now they are
        handle.write(b"later")
    assert reader.size(sha1(b"later")) == 5
