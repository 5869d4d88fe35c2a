"""Fusion frames: group a segment's sensor files into frames with stable IDs.

Local layout (``frames.layout: sensor-dirs``, the only one in manifest v1)::

    <data.path>/<sensorName>/<frame>.<ext>      e.g. data/day/cam_front/0001.jpg
                                                     data/day/lidar/0001.pcd

* Each sensor of the segment has a directory named after it directly under the data
  directory; the files in it are that sensor's data, one per frame.
* A frame is the set of files that share the same ``<frame>`` name across the sensor
  directories, where ``<frame>`` is the file name without its last extension
  (``0001.jpg`` -> ``0001``). Frames are ordered by name.
* A file's remote path is ``<sensorName>/<file name>``, its ``sensorName`` the directory.
* Problems (reported as diagnostics, the frame or file left out): a file directly in the
  data directory or deeper than one level; a directory that names no sensor of the
  segment; two files of one sensor with the same frame name; with ``complete`` set, a
  frame that lacks a file for some sensor.

Timestamps: an optional JSON file (``frames.timestamps``) maps frame name to seconds since
the epoch, ``{"0001": 1700000000.1, ...}``; every frame must be listed and the time is
also sent as each file's ``timestamp``. Without it, frame *i* (0-based, in name order) is
given ``10 * i + 10`` seconds for its ID only, as the TensorBay SDK does for frames without
IDs (so adding a frame before others changes their IDs: give timestamps for stable IDs
under insertions).

Frame IDs: an ID file (``frames.ids``) maps frame names to the ULIDs of frames another tool
created (:func:`read_frame_ids`); a listed frame keeps its ID. Otherwise the ID is a ULID (26 characters of Crockford base32 over 128 bits) whose 48-bit time
part is the frame timestamp in milliseconds and whose 80-bit "random" part is the first 80
bits of ``SHA-256(segment name + "/" + frame name)``: the same input gives the same ID on
every run and every machine, and IDs sort by time.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from labelsync.diagnostics import Diagnostic
from labelsync.errors import LocalDataError
from labelsync.local.scan import LocalFile

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
MAX_ULID_MS = (1 << 48) - 1


def encode_ulid(ms: int, randomness: bytes) -> str:
    """Encode a 48-bit millisecond time and 10 bytes of randomness as a 26-char ULID."""
    if not 0 <= ms <= MAX_ULID_MS:
        raise ValueError(f"ULID time {ms} ms is outside 0..2^48-1")
    if len(randomness) != 10:
        raise ValueError("ULID randomness must be 10 bytes")
    value = (ms << 80) | int.from_bytes(randomness, "big")
    chars = []
    for _ in range(26):
        chars.append(CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def decode_ulid_ms(ulid: str) -> int:
    """The millisecond time part of a ULID (for tests and messages)."""
    value = 0
    for c in ulid.upper():
        value = (value << 5) | CROCKFORD.index(c)
    return value >> 80


def timestamp_ms(timestamp: float) -> int:
    """Seconds -> whole milliseconds for a ULID (rounded); ValueError when out of range."""
    if not math.isfinite(timestamp):
        raise ValueError(f"timestamp {timestamp} is not a finite number")
    ms = round(timestamp * 1000)
    if not 0 <= ms <= MAX_ULID_MS:
        raise ValueError(f"timestamp {timestamp} s is outside the ULID range (0 .. about year 10889)")
    return ms


def frame_id(segment: str, frame: str, timestamp: float) -> str:
    """The stable ULID of a frame (see the module docstring)."""
    digest = hashlib.sha256(f"{segment}/{frame}".encode()).digest()
    return encode_ulid(timestamp_ms(timestamp), digest[:10])


def default_timestamp(index: int) -> float:
    """The time given to frame ``index`` (0-based) without a timestamps file: ``10*i + 10`` s."""
    return float(10 * index + 10)


def frame_name(file_name: str) -> str:
    """A file's frame name: its name without the last extension (``0001.jpg`` -> ``0001``)."""
    dot = file_name.rfind(".")
    return file_name[:dot] if dot > 0 else file_name


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame: its name, position, timestamp, stable ID and one file per sensor.

    ``timestamp`` is from the timestamps file, or ``None`` when there was none (the ID then
    used :func:`default_timestamp`).
    """

    name: str
    index: int
    frame_id: str
    timestamp: float | None
    files: Mapping[str, LocalFile] = field(default_factory=dict)


def read_timestamps(path: Path) -> dict[str, float]:
    """Read a timestamps file: a JSON object of frame name -> seconds (number).

    Raises :class:`LocalDataError` (one line, with the position for bad JSON) otherwise.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LocalDataError(
            f"timestamps file {path} does not exist", hint="create it or fix frames.timestamps"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LocalDataError(f"cannot read timestamps file {path}: {exc}") from exc
    try:
        data = json.loads(text, parse_constant=lambda c: float("nan"))
    except json.JSONDecodeError as exc:
        raise LocalDataError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise LocalDataError(
            f"{path}: must be a JSON object of frame name -> seconds", hint='e.g. {"0001": 1700000000.1}'
        )
    out: dict[str, float] = {}
    for name, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise LocalDataError(
                f"{path}: timestamp of frame {name!r} must be a number of seconds, got {value!r}"
            )
        out[name] = float(value)
    return out


def read_frame_ids(path: Path) -> dict[str, str]:
    """Read a frame ID file: a JSON object of frame name -> 26-character ULID (Crockford
    base32). Raises :class:`LocalDataError` (one line) otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LocalDataError(f"frame ID file {path} does not exist", hint="create it or fix frames.ids") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LocalDataError(f"cannot read frame ID file {path}: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LocalDataError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise LocalDataError(f"{path}: must be a JSON object of frame name -> frame ID",
                             hint='e.g. {"0001": "00000009RG7MZKAEM1HPQ9BKXE"}')
    for name, value in data.items():
        if not (isinstance(value, str) and len(value) == 26 and value[0] in "01234567"
                and all(c in CROCKFORD for c in value)):
            raise LocalDataError(f"{path}: frame {name!r} has ID {value!r}, which is not a ULID",
                                 hint="a ULID is 26 characters of Crockford base32, e.g. 00000009RG7MZKAEM1HPQ9BKXE")
    return dict(data)


def build_frames(
    segment: str,
    files: Sequence[LocalFile],
    sensors: Sequence[str],
    *,
    timestamps: Mapping[str, float] | None = None,
    frame_ids: Mapping[str, str] | None = None,
    complete: bool = True,
    file: str = "",
    line: int = 0,
    column: int = 0,
    json_path: str = "",
) -> tuple[list[Frame], list[Diagnostic]]:
    """Group the scanned ``files`` (``rel`` = ``<sensor>/<file>``) of a segment into frames.

    Pure. Returns the frames in name order and a diagnostic per problem (see the module
    docstring); ``file``/``line``/``column``/``json_path`` locate them (the manifest's
    segment). A frame with a problem of its own (no timestamp, missing sensor, an ID another
    frame has) is left out. ``frame_ids`` (:func:`read_frame_ids`) gives listed frames their ID.
    """
    diags: list[Diagnostic] = []

    def problem(message: str, hint: str | None = None) -> None:
        diags.append(Diagnostic(file, line, column, f"segment {segment!r}: {message}", json_path, hint))

    known = set(sensors)
    by_frame: dict[str, dict[str, LocalFile]] = {}
    unknown_dirs: dict[str, int] = {}
    for f in files:
        parts = f.rel.split("/")
        if len(parts) != 2:
            where = "directly in the data directory" if len(parts) == 1 else "nested below a sensor directory"
            problem(
                f"file {f.rel!r} is {where}",
                "put each sensor's files in <data dir>/<sensorName>/<frame>.<ext>",
            )
            continue
        sensor, name = parts
        if sensor not in known:
            unknown_dirs[sensor] = unknown_dirs.get(sensor, 0) + 1
            continue
        frame = frame_name(name)
        slot = by_frame.setdefault(frame, {})
        if sensor in slot:
            problem(
                f"sensor {sensor!r} has two files for frame {frame!r}: {slot[sensor].rel!r} and {f.rel!r}",
                "keep one file per sensor and frame",
            )
            continue
        slot[sensor] = f
    for d, count in sorted(unknown_dirs.items()):
        problem(
            f"directory {d!r} ({count} file{'s' if count != 1 else ''}) names no sensor of the segment",
            f"declare a sensor named {d!r} or exclude the directory; sensors: {', '.join(sorted(known)) or 'none'}",
        )
    frames: list[Frame] = []
    taken: dict[str, str] = {}
    for index, name in enumerate(sorted(by_frame)):
        slot = by_frame[name]
        missing = [s for s in sensors if s not in slot]
        if missing and complete:
            problem(
                f"frame {name!r} has no file for sensor{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}",
                "add the missing files or set frames.complete: false",
            )
            continue
        ts: float | None = None
        if timestamps is not None:
            if name not in timestamps:
                problem(
                    f"frame {name!r} has no timestamp in the timestamps file",
                    "add it, or remove frames.timestamps",
                )
                continue
            ts = timestamps[name]
        try:
            fid = (frame_ids or {}).get(name) or frame_id(segment, name, ts if ts is not None else default_timestamp(index))
        except ValueError as exc:
            problem(f"frame {name!r}: {exc}")
            continue
        if fid in taken:
            problem(f"frames {taken[fid]!r} and {name!r} have the same ID {fid}", "give each frame its own ID in frames.ids")
            continue
        taken[fid] = name
        frames.append(Frame(name, index, fid, ts, {s: slot[s] for s in sensors if s in slot}))
    return frames, diags
