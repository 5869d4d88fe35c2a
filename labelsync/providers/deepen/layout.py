"""The data layout Deepen's processing accepts, checked locally before a dataset is created.

A Deepen dataset is created from one upload (a zip of the segment's data files, whose
remote paths become the zip's entry names; or one mp4), and processing then accepts or
rejects it after the dataset exists. These checks mirror processing's rules
(``api/deepen.md`` §8, ``labelsync/emulator/deepen/processing.py``) so that labelsync never
creates a dataset that processing will reject. ``docs/deepen.md`` documents the layouts.

Two levels, so a plan stays cheap:

* :func:`layout_problems` looks at names only (plus the small ``config.json`` of the 3d
  ``default`` format). ``labelsync validate`` (and so every plan) runs it.
* :func:`content_problems` reads the files (image signatures, every 3d json frame, the mp4
  header). Apply runs it right before creating the dataset, when it reads every byte anyway.

Entries under ``__MACOSX/`` and dot-files are ignored, as processing ignores them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

IMAGE_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".bmp": (b"BM",),
}
FRAME_FIELDS = ("images", "timestamp", "points", "device_position", "device_heading")
DOCS = "see docs/deepen.md"


@dataclass(frozen=True)
class LayoutProblem:
    """One reason processing would reject the data: a message, its fix, and the local file
    at fault (None when the problem is the selection as a whole)."""

    message: str
    hint: str
    file: Path | None = None


def _kept(files: Sequence[tuple[str, Path]]) -> list[tuple[str, Path]]:
    out = []
    for remote, path in files:
        parts = PurePosixPath(remote).parts
        if not parts or parts[0] == "__MACOSX" or parts[-1].startswith("."):
            continue
        out.append((remote, path))
    return out


def layout_problems(files: Sequence[tuple[str, Path]], *, dataset_type: str, dataset_format: str | None) -> list[LayoutProblem]:
    """What processing would reject in a dataset made of ``files`` (remote path, local path),
    judged by names (and ``config.json``) only."""
    files = _kept(files)
    if not files:
        return []  # "selects no files" is reported on its own
    if dataset_type == "video":
        if len(files) != 1 or PurePosixPath(files[0][0]).suffix.lower() != ".mp4":
            return [LayoutProblem(
                f"a Deepen video dataset takes exactly one .mp4 file; the data selects {len(files)} file(s)",
                f"select one .mp4 with data.include ({DOCS})",
            )]
        return []
    if dataset_type == "images":
        if not any(PurePosixPath(r).suffix.lower() in IMAGE_SIGNATURES for r, _ in files):
            return [LayoutProblem(
                "a Deepen images dataset needs image files (.png, .jpg, .jpeg, .bmp); the data selects none",
                f"select image files with data.include ({DOCS})",
            )]
        return []
    if dataset_type != "3d":
        return []
    if dataset_format == "json":
        if not any("/" not in r and r.lower().endswith(".json") for r, _ in files):
            return [LayoutProblem(
                "a Deepen 3d json dataset needs one frame .json file per frame at the top of the data directory; "
                "the data selects none",
                f"put the frames (0001.json, 0002.json, ...) directly in data.path ({DOCS})",
            )]
        return []
    return _pcd_folder_problems(files)


def _pcd_folder_problems(files: list[tuple[str, Path]]) -> list[LayoutProblem]:
    by_name = dict(files)
    config_path = by_name.get("config.json")
    if config_path is None:
        return [LayoutProblem(
            "a Deepen 3d dataset (datasetFormat default) needs a config.json at the top of the data directory",
            "add config.json naming primary_sensor_id and its sensors, or set datasetFormat: json "
            f"for json frames ({DOCS})",
        )]
    try:
        config = json.loads(config_path.read_bytes())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return [LayoutProblem(f"config.json cannot be read as JSON: {exc}", f"fix config.json ({DOCS})", config_path)]
    sensors = config.get("sensors") if isinstance(config, dict) else None
    primary = config.get("primary_sensor_id") if isinstance(config, dict) else None
    if not isinstance(sensors, dict) or not isinstance(primary, str) or not isinstance(sensors.get(primary), dict):
        return [LayoutProblem(
            "config.json must name a primary_sensor_id that is one of its sensors",
            'write {"primary_sensor_id": "lidar", "sensors": {"lidar": {"content": "lidar", ...}}} '
            f"({DOCS})",
            config_path,
        )]
    content = str(sensors[primary].get("content", primary)).strip("/")
    if not any(r.startswith(content + "/") and r.lower().endswith(".pcd") for r, _ in files):
        return [LayoutProblem(
            f"the folder {content}/ that config.json names for the primary sensor {primary!r} holds no .pcd files",
            f"put the point clouds in {content}/ under data.path, or fix its 'content' in config.json ({DOCS})",
            config_path,
        )]
    return []


def content_problems(files: Sequence[tuple[str, Path]], *, dataset_type: str, dataset_format: str | None) -> list[LayoutProblem]:
    """:func:`layout_problems`, then what processing checks inside the files (reads them)."""
    problems = layout_problems(files, dataset_type=dataset_type, dataset_format=dataset_format)
    if problems:
        return problems
    files = _kept(files)
    try:
        if dataset_type == "video":
            with files[0][1].open("rb") as handle:
                head = handle.read(12)
            if len(head) < 12 or head[4:8] != b"ftyp":
                return [LayoutProblem("the video is not an mp4 (no ftyp box)", "convert it to mp4", files[0][1])]
        elif dataset_type == "images":
            for remote, path in files:
                suffix = PurePosixPath(remote).suffix.lower()
                if suffix in IMAGE_SIGNATURES:
                    with path.open("rb") as handle:
                        head = handle.read(8)
                    if not head.startswith(IMAGE_SIGNATURES[suffix]):
                        return [LayoutProblem(f"not a valid {suffix[1:]} image", "replace the file or fix its extension", path)]
        elif dataset_type == "3d" and dataset_format == "json":
            names = {r for r, _ in files}
            for remote, path in files:
                if "/" not in remote and remote.lower().endswith(".json"):
                    problem = _frame_problem(path, names)
                    if problem is not None:
                        return [LayoutProblem(problem, f"fix the frame ({DOCS})", path)]
    except OSError as exc:
        return [LayoutProblem(f"cannot read the data file: {exc.strerror or exc}", "check the file", Path(exc.filename or ""))]
    return []


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _frame_problem(path: Path, names: set[str]) -> str | None:
    """Why processing would reject the 3d json frame at ``path`` (None when it accepts it)."""
    try:
        frame = json.loads(path.read_bytes())
    except (UnicodeDecodeError, ValueError) as exc:
        return f"a frame must be valid JSON: {exc}"
    if not isinstance(frame, dict):
        return "a frame must be a JSON object"
    missing = [f for f in FRAME_FIELDS if f not in frame]
    if missing:
        return f"missing frame field(s): {', '.join(missing)}"
    if not _number(frame["timestamp"]):
        return "timestamp must be a number (seconds)"
    points = frame["points"]
    if not isinstance(points, list):
        return "points must be a list of {x, y, z} objects"
    for index, point in enumerate(points):
        if not isinstance(point, dict) or not all(_number(point.get(k)) for k in "xyz"):
            return f"points[{index}] must be an object with numeric x, y, z"
    for key, axes in (("device_position", "xyz"), ("device_heading", "xyzw")):
        value = frame[key]
        if not isinstance(value, dict) or not all(_number(value.get(k)) for k in axes):
            return f"{key} must be an object with numeric {', '.join(axes)}"
    if not isinstance(frame["images"], list):
        return "images must be a list"
    for index, image in enumerate(frame["images"]):
        if not isinstance(image, dict) or not isinstance(image.get("image_url"), str):
            return f"images[{index}] must be an object with an image_url"
        url = image["image_url"]
        if not url.startswith(("http://", "https://")) and url not in names:
            return f"images[{index}].image_url {url!r} is neither an http(s) URL nor a file of the data directory"
    return None
