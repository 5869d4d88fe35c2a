"""The ``frames`` entry an imported fusion segment needs for ``plan`` to show no changes (pure).

labelsync lays a fusion segment out as ``<data>/<sensor>/<frame>.<ext>`` (remote path
``<sensor>/<file>``) and groups files into frames by ``<frame>`` (:mod:`labelsync.local.frames`).
A remote fusion segment fits when every item's remote path is ``<sensorName>/<file>`` and the
files of one remote frame share one ``<frame>`` name that no other frame uses; otherwise
:func:`segment_frames` raises :class:`UsageError` naming the first item that does not fit.

Frames labelsync did not create (the TensorBay SDK gives ULIDs with random bits) have IDs
labelsync cannot derive: they go into an ID file (``frames.ids``, ``{frame name: ID}``)
written next to the segment's labels; frames whose ID labelsync derives need none. A frame
lacking some sensor's file makes the entry ``complete: false``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labelsync.errors import UsageError
from labelsync.local.frames import default_timestamp, frame_id, frame_name
from labelsync.state import Segment


@dataclass(frozen=True)
class SegmentFrames:
    """What :func:`segment_frames` found: the manifest's ``frames`` entry (``None``: none
    needed) and the ID file (relative path and bytes) when the entry names one."""

    entry: dict[str, Any] | None
    ids_path: str | None = None
    ids_json: bytes | None = None


def segment_frames(seg_name: str, seg: Segment) -> SegmentFrames:
    """The ``frames`` of remote fusion segment ``seg`` (see the module docstring)."""
    by_frame: dict[str, str] = {}
    by_name: dict[str, str] = {}
    sensors_of: dict[str, set[str]] = {}
    for rp in sorted(seg.items):
        item = seg.items[rp]
        if item.frame_id is None:
            continue
        sensor, _, file = rp.partition("/")
        if sensor != item.sensor_name or not file or "/" in file:
            raise UsageError(f"segment '{seg_name}': item {rp!r} of sensor {item.sensor_name!r} is not at "
                             f"'<sensor>/<file>', the only fusion layout labelsync declares",
                             hint=f"nothing was written; rename it on the remote to '{item.sensor_name}/{rp.rsplit('/', 1)[-1]}'")
        name = frame_name(file)
        other = by_frame.setdefault(item.frame_id, name)
        if other != name:
            raise UsageError(f"segment '{seg_name}': frame {item.frame_id} holds files named {other!r} and {name!r}; "
                             "labelsync groups a frame's files by name (<sensor>/<frame>.<ext>)",
                             hint="nothing was written; give the files of each frame one name on the remote")
        if by_name.setdefault(name, item.frame_id) != item.frame_id:
            raise UsageError(f"segment '{seg_name}': frames {by_name[name]} and {item.frame_id} both hold files named "
                             f"{name!r}; labelsync groups files by name, one frame each",
                             hint="nothing was written; give each frame's files their own name on the remote")
        sensors_of.setdefault(name, set()).add(sensor)
    if not by_name:
        return SegmentFrames(None)
    entry: dict[str, Any] = {}
    if any(sensors_of[n] != set(seg.sensors) for n in by_name):
        entry["complete"] = False
    ids = {n: by_name[n] for n in sorted(by_name)}
    if any(fid != frame_id(seg_name, n, default_timestamp(i)) for i, (n, fid) in enumerate(ids.items())):
        path = f"{seg_name}/frame-ids.json"
        entry["ids"] = path
        return SegmentFrames(entry, path, (json.dumps(ids, indent=1) + "\n").encode("utf-8"))
    return SegmentFrames(entry or None)


def frames_entries(frames: Mapping[str, SegmentFrames]) -> dict[str, dict[str, Any]]:
    """Segment name -> the ``frames`` entry, for the segments that need one."""
    return {name: f.entry for name, f in frames.items() if f.entry is not None}


__all__ = ["SegmentFrames", "frames_entries", "segment_frames"]
