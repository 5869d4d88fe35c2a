"""Fusion frames: grouping, problems, deterministic ULIDs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from labelsync.errors import LocalDataError
from labelsync.local.frames import (
    build_frames,
    decode_ulid_ms,
    default_timestamp,
    encode_ulid,
    frame_id,
    frame_name,
    read_timestamps,
)
from labelsync.local.scan import LocalFile


def lf(rel: str) -> LocalFile:
    return LocalFile(rel, "/r/" + rel, 1, 1, 1)


def test_encode_ulid_known_values() -> None:
    assert encode_ulid(0, bytes(10)) == "0" * 26
    assert encode_ulid((1 << 48) - 1, b"\xff" * 10) == "7" + "Z" * 25
    # the SDK's example ID decodes to 10 s after the epoch (from_timestamp(10*0 + 10))
    assert decode_ulid_ms("00000009RG7MZKAEM1HPQ9BKXE") == 10_000
    assert encode_ulid(10_000, bytes(10))[:10] == "00000009RG"


def test_frame_id_is_stable_and_derived() -> None:
    fid = frame_id("day", "0001", 1700000000.1234)
    assert fid == frame_id("day", "0001", 1700000000.1234)
    assert len(fid) == 26
    assert decode_ulid_ms(fid) == 1700000000123
    rand = hashlib.sha256(b"day/0001").digest()[:10]
    assert fid == encode_ulid(1700000000123, rand)
    assert fid == "01HF7YAT3VRM79QK1JB62WP7SY"  # the literal value: the same on every run and machine
    assert frame_id("night", "0001", 1700000000.1234) != fid


def test_frame_id_time_range() -> None:
    with pytest.raises(ValueError, match="outside the ULID range"):
        frame_id("s", "f", -1.0)


def test_frame_name() -> None:
    assert [frame_name(n) for n in ("0001.jpg", "0001.pcd.bin", "noext", ".x")] == ["0001", "0001.pcd", "noext", ".x"]


def test_build_frames_groups_by_stem_in_name_order() -> None:
    files = [lf("cam/0002.jpg"), lf("cam/0001.jpg"), lf("lidar/0001.pcd"), lf("lidar/0002.pcd")]
    frames, diags = build_frames("day", files, ["cam", "lidar"])
    assert diags == []
    assert [(f.name, f.index, sorted(f.files)) for f in frames] == [("0001", 0, ["cam", "lidar"]), ("0002", 1, ["cam", "lidar"])]
    assert frames[0].frame_id == frame_id("day", "0001", default_timestamp(0))
    assert decode_ulid_ms(frames[1].frame_id) == 20_000
    assert frames[0].timestamp is None
    assert frames[0].frame_id < frames[1].frame_id  # IDs sort by time


def test_timestamps_file_sets_time(tmp_path: Path) -> None:
    ts = tmp_path / "ts.json"
    ts.write_text('{"0001": 1700000000.5}')
    frames, diags = build_frames("day", [lf("cam/0001.jpg")], ["cam"], timestamps=read_timestamps(ts))
    assert diags == []
    assert frames[0].timestamp == 1700000000.5
    assert decode_ulid_ms(frames[0].frame_id) == 1700000000500


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1]", "must be a JSON object of frame name -> seconds"),
        ('{"a": "x"}', "timestamp of frame 'a' must be a number of seconds"),
        ("{", "ts.json:1:2: invalid JSON"),
    ],
)
def test_bad_timestamps_file(tmp_path: Path, text: str, message: str) -> None:
    ts = tmp_path / "ts.json"
    ts.write_text(text)
    with pytest.raises(LocalDataError, match=message):
        read_timestamps(ts)


def test_frame_problems_are_diagnostics() -> None:
    files = [
        lf("cam/0001.jpg"),
        lf("lidar/0001.pcd"),
        lf("cam/0002.jpg"),  # no lidar
        lf("radar/0001.bin"),  # not a sensor
        lf("stray.txt"),
        lf("cam/sub/0003.jpg"),
        lf("lidar/0001.bin"),  # second lidar file for 0001
    ]
    frames, diags = build_frames("day", files, ["cam", "lidar"], file="m.yaml", line=4, column=9, json_path="spec.segments[0].data")
    assert [f.name for f in frames] == ["0001"]
    assert [str(d) for d in diags] == [
        "m.yaml:4:9: segment 'day': file 'stray.txt' is directly in the data directory [spec.segments[0].data] "
        "(hint: put each sensor's files in <data dir>/<sensorName>/<frame>.<ext>)",
        "m.yaml:4:9: segment 'day': file 'cam/sub/0003.jpg' is nested below a sensor directory [spec.segments[0].data] "
        "(hint: put each sensor's files in <data dir>/<sensorName>/<frame>.<ext>)",
        "m.yaml:4:9: segment 'day': sensor 'lidar' has two files for frame '0001': 'lidar/0001.pcd' and 'lidar/0001.bin' "
        "[spec.segments[0].data] (hint: keep one file per sensor and frame)",
        "m.yaml:4:9: segment 'day': directory 'radar' (1 file) names no sensor of the segment [spec.segments[0].data] "
        "(hint: declare a sensor named 'radar' or exclude the directory; sensors: cam, lidar)",
        "m.yaml:4:9: segment 'day': frame '0002' has no file for sensor 'lidar' [spec.segments[0].data] "
        "(hint: add the missing files or set frames.complete: false)",
    ]


def test_incomplete_frames_allowed_when_not_complete() -> None:
    frames, diags = build_frames("day", [lf("cam/0001.jpg")], ["cam", "lidar"], complete=False)
    assert diags == [] and sorted(frames[0].files) == ["cam"]


def test_missing_timestamp_for_a_frame() -> None:
    frames, diags = build_frames("day", [lf("cam/0001.jpg")], ["cam"], timestamps={})
    assert frames == []
    assert diags[0].message == "segment 'day': frame '0001' has no timestamp in the timestamps file"
