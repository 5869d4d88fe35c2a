"""Preprocessing of an uploaded Deepen data file: what ``process_uploaded_data`` checks.

Pure functions over a file on disk; no database, no HTTP. :func:`inspect_upload` opens the
uploaded object and returns an :class:`Outcome`: either the file ids (and, for 3d json,
frame sizes and a sensor config) that the dataset will hold once processed, or the
``preprocessing_error`` message to show in ``processing_status_message``.

Rules per ``dataset_type`` / ``dataset_format`` (contract §8):

* ``images``: a zip holding at least one image (``.png``, ``.jpg``, ``.jpeg``, ``.bmp``);
  each image entry must start with its format's signature. File id = the entry's path in
  the zip (``inner/000059.png``). Other entries are ignored [INFERRED].
* ``3d`` + ``json``: a zip with at least one frame file ``*.json`` at the zip root. Each
  frame is an object with the five fields ``images``, ``timestamp``, ``points``,
  ``device_position``, ``device_heading``; ``points`` is a list of ``{x, y, z[, i]}``
  numbers; an ``image_url`` that is not an ``http(s)`` URL must name an entry of the zip.
  Frames are ordered by name (digit runs compared as numbers [INFERRED]); file id of frame
  ``0001.json`` = ``0001.pcd``; ``frame_sizes`` = ``len(points)`` per frame.
* ``3d`` + ``default``: a zip with a ``config.json`` naming a ``primary_sensor_id`` whose
  ``content`` folder holds ``.pcd`` files; file ids are those file names [INFERRED: the
  other four files of §8.2 are not checked, their formats are unknown].
* ``video``: an mp4 (an ISO-BMFF ``ftyp`` box at offset 4); one file id, the stored name
  [INFERRED].

Directory entries, ``__MACOSX/`` and dot-files are ignored everywhere.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from labelsync.emulator.names import unsafe_name

IMAGE_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".bmp": (b"BM",),
}
FRAME_FIELDS = ("images", "timestamp", "points", "device_position", "device_heading")


@dataclass(frozen=True)
class Outcome:
    """Result of preprocessing: ``error`` is None on success."""

    file_ids: list[str] = field(default_factory=list)
    sensors: list[list[str]] = field(default_factory=list)
    """Per file id (same order), the ``sensors`` of its FileResource (3d only; else [])."""
    frame_sizes: list[int] = field(default_factory=list)
    sensor_config: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "file_ids": self.file_ids,
            "sensors": self.sensors,
            "frame_sizes": self.frame_sizes,
            "sensor_config": self.sensor_config,
            "error": self.error,
            "message": self.message,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        return cls(**data)


class Rejected(Exception):
    """The upload is not acceptable; the message becomes ``processing_status_message``."""


def natural_key(name: str) -> list[Any]:
    """Sort key comparing digit runs as numbers: ``2.json`` < ``10.json``."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name)]


def inspect_upload(path: Path, *, dataset_type: str, dataset_format: str | None, stored_name: str) -> Outcome:
    """Check the uploaded object at ``path``; never raises for bad content (returns ``error``)."""
    try:
        if dataset_type == "video":
            return _inspect_video(path, stored_name)
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError):
            raise Rejected(f"{stored_name} is not a valid zip archive.") from None
        with archive:
            names = _member_names(archive)
            if not names:
                raise Rejected(f"{stored_name} is an empty zip archive: no files to process.")
            if dataset_type == "images":
                return _inspect_images(archive, names)
            if dataset_format == "json":
                return _inspect_json_frames(archive, names)
            return _inspect_pcd_folder(archive, names)
    except Rejected as exc:
        return Outcome(error=str(exc), message=str(exc))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
        message = f"{stored_name} could not be read: {exc}"
        return Outcome(error=message, message=message)


def _member_names(archive: zipfile.ZipFile) -> list[str]:
    """The entries that are data files; an entry whose name could not be written back as a
    relative path (``../x``, ``/abs``, see :mod:`labelsync.emulator.names`) rejects the zip."""
    names = []
    for info in archive.infolist():
        problem = unsafe_name(info.filename.removesuffix("/") if info.is_dir() else info.filename, nested=True)
        if problem is not None:
            raise Rejected(f"zip entry {info.filename!r} {problem}; file names must be relative paths.")
        parts = PurePosixPath(info.filename).parts
        if info.is_dir() or not parts or parts[0] == "__MACOSX" or parts[-1].startswith("."):
            continue
        names.append(info.filename)
    return names


def _inspect_images(archive: zipfile.ZipFile, names: list[str]) -> Outcome:
    images = [n for n in names if PurePosixPath(n).suffix.lower() in IMAGE_SIGNATURES]
    if not images:
        raise Rejected("The zip archive holds no image files (.png, .jpg, .jpeg, .bmp).")
    for name in images:
        with archive.open(name) as handle:
            head = handle.read(8)
        if not head.startswith(IMAGE_SIGNATURES[PurePosixPath(name).suffix.lower()]):
            raise Rejected(f"{name} is not a valid {PurePosixPath(name).suffix.lower()[1:]} image.")
    images.sort(key=natural_key)
    return Outcome(file_ids=images, sensors=[[] for _ in images], message=f"Processed {len(images)} images")


def _inspect_json_frames(archive: zipfile.ZipFile, names: list[str]) -> Outcome:
    frames = sorted((n for n in names if "/" not in n and n.lower().endswith(".json")), key=natural_key)
    if not frames:
        raise Rejected("The zip archive holds no frame .json files at its root (3d json format).")
    members = set(names)
    sizes: list[int] = []
    cameras = 0
    for name in frames:
        frame = _read_json(archive, name)
        _check_frame(name, frame, members)
        sizes.append(len(frame["points"]))
        cameras = max(cameras, len(frame["images"]))
    sensor_ids = ["lidar"] + [f"sensor{i}" for i in range(1, cameras + 1)]
    config: dict[str, Any] = {
        "primary_sensor_id": "lidar",
        "sensors": {
            "lidar": {
                "content": "lidar",
                "sensor_type": "lidar",
                "calibration": {},
                "square_dimensions": [],
                "sensor_fusion": {},
            },
            **{
                sid: {
                    "content": sid,
                    "sensor_type": "camera",
                    "calibration": {},
                    "square_dimensions": [],
                    "sensor_fusion": {},
                }
                for sid in sensor_ids[1:]
            },
        },
    }
    file_ids = [f"{PurePosixPath(n).stem}.pcd" for n in frames]
    return Outcome(
        file_ids=file_ids,
        sensors=[sensor_ids for _ in file_ids],
        frame_sizes=sizes,
        sensor_config=config,
        message="Processing Json Files",
    )


def _read_json(archive: zipfile.ZipFile, name: str) -> Any:
    try:
        with archive.open(name) as handle:
            return json.loads(handle.read())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Rejected(f"{name} is not valid JSON: {exc}") from None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_xyz(name: str, where: str, value: Any, keys: str) -> None:
    if not isinstance(value, dict) or not all(_is_number(value.get(k)) for k in keys):
        raise Rejected(f"{name}: {where} must be an object with numeric {', '.join(keys)}.")


def _check_frame(name: str, frame: Any, members: set[str]) -> None:
    if not isinstance(frame, dict):
        raise Rejected(f"{name}: a frame must be a JSON object.")
    missing = [f for f in FRAME_FIELDS if f not in frame]
    if missing:
        raise Rejected(f"{name}: missing frame field(s): {', '.join(missing)}.")
    if not _is_number(frame["timestamp"]):
        raise Rejected(f"{name}: timestamp must be a number (seconds).")
    if not isinstance(frame["points"], list):
        raise Rejected(f"{name}: points must be a list of {{x, y, z}} objects.")
    for index, point in enumerate(frame["points"]):
        if not isinstance(point, dict) or not all(_is_number(point.get(k)) for k in "xyz"):
            raise Rejected(f"{name}: points[{index}] must be an object with numeric x, y, z.")
    _check_xyz(name, "device_position", frame["device_position"], "xyz")
    _check_xyz(name, "device_heading", frame["device_heading"], "xyzw")
    if not isinstance(frame["images"], list):
        raise Rejected(f"{name}: images must be a list.")
    for index, image in enumerate(frame["images"]):
        if not isinstance(image, dict) or not isinstance(image.get("image_url"), str):
            raise Rejected(f"{name}: images[{index}] must be an object with an image_url.")
        url = image["image_url"]
        if not url.startswith(("http://", "https://")) and url not in members:
            raise Rejected(f"{name}: images[{index}].image_url {url!r} is not in the zip archive.")


def _inspect_pcd_folder(archive: zipfile.ZipFile, names: list[str]) -> Outcome:
    if "config.json" not in names:
        raise Rejected("The zip archive has no config.json (3d default format).")
    config = _read_json(archive, "config.json")
    sensors = config.get("sensors") if isinstance(config, dict) else None
    primary = config.get("primary_sensor_id") if isinstance(config, dict) else None
    if (
        not isinstance(sensors, dict)
        or not isinstance(primary, str)
        or not isinstance(sensors.get(primary), dict)
    ):
        raise Rejected("config.json must name a primary_sensor_id that is one of its sensors.")
    content = str(sensors[primary].get("content", primary)).strip("/")
    clouds = sorted(
        (n for n in names if n.startswith(content + "/") and n.lower().endswith(".pcd")), key=natural_key
    )
    if not clouds:
        raise Rejected(f"The folder {content}/ named by config.json holds no .pcd files.")
    file_ids = [PurePosixPath(n).name for n in clouds]
    return Outcome(
        file_ids=file_ids,
        sensors=[list(sensors) for _ in file_ids],
        sensor_config=config,
        message="Processing PCD Files",
    )


def _inspect_video(path: Path, stored_name: str) -> Outcome:
    with path.open("rb") as handle:
        head = handle.read(12)
    if len(head) < 12 or head[4:8] != b"ftyp":
        raise Rejected(f"{stored_name} is not an mp4 video.")
    return Outcome(file_ids=[stored_name], sensors=[[]], message="Processing Video")
