"""The upload path reads a planned file once and refuses one that changed since the plan."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from labelsync.errors import LocalDataError
from labelsync.providers.tensorbay.upload import _read


def planned(path: Path, data: bytes) -> tuple[str, str, int]:
    path.write_bytes(data)
    return str(path), hashlib.sha1(data).hexdigest(), len(data)


def test_the_planned_bytes_are_read(tmp_path: Path) -> None:
    data = bytes(range(256)) * 1000
    assert _read(*planned(tmp_path / "a.bin", data)) == data
    assert _read(*planned(tmp_path / "empty.bin", b"")) == b""


@pytest.mark.parametrize("now", [b"same size, other bytes!", b"grown: more bytes than were planned", b"shrunk"])
def test_a_file_changed_since_the_plan_is_refused(tmp_path: Path, now: bytes) -> None:
    path, checksum, size = planned(tmp_path / "a.bin", b"the planned bytes here!")
    Path(path).write_bytes(now)
    with pytest.raises(LocalDataError, match=r"a\.bin: file changed since it was planned"):
        _read(path, checksum, size)


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    path, checksum, size = planned(tmp_path / "a.bin", b"x")
    Path(path).unlink()
    with pytest.raises(LocalDataError, match=r"a\.bin: cannot read planned file \(No such file or directory\)"):
        _read(path, checksum, size)
