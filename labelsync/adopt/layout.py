"""Where an imported dataset's files go, and its manifest (pure: no I/O).

Under the import directory ``DIR``, each segment gets its own directory::

    DIR/dataset.yaml
    DIR/<segment>/data/<remotePath>          (--with-data)
    DIR/<segment>/labels.jsonl               (tensorbay; masks under DIR/<segment>/masks/)
    DIR/<segment>/annotations.json           (coco)
    DIR/<segment>/labels/                    (voc, labelme, yolo; yolo adds DIR/<segment>/classes.txt)
    DIR/<segment>/frame-ids.json             (fusion frames labelsync did not create: frames.ids)
    DIR/<segment>/label_2/, calib/           (kitti: data/image_2/<frame>.png, data/velodyne/<frame>.bin)

The manifest names the remote, the provider's block (``spec.<provider>``), the live catalog
as it is, and per segment its description, sensors, ``data`` and ``labels``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from io import StringIO
from typing import Any

from labelsync.formats.names import DEFAULT
from labelsync.state import Dataset

MANIFEST = "dataset.yaml"


@dataclass(frozen=True, slots=True)
class SegmentLayout:
    """The paths of one segment, relative to the manifest's directory (POSIX)."""

    name: str
    dir: str
    data: str
    labels: str
    classes: str | None = None
    calib: str | None = None

    def label_source(self, fmt: str) -> dict[str, Any]:
        source: dict[str, Any] = {"path": self.labels} if fmt == DEFAULT else {"format": fmt, "path": self.labels}
        if self.classes is not None:
            source["classes"] = self.classes
        if self.calib is not None:
            source["calib"] = self.calib
        return source


def segment_layout(segment: str, fmt: str) -> SegmentLayout:
    """Where segment ``segment``'s data and labels (in format ``fmt``) go."""
    labels = {DEFAULT: "labels.jsonl", "coco": "annotations.json", "kitti": "label_2"}.get(fmt, "labels")
    classes = f"{segment}/classes.txt" if fmt == "yolo" else None
    calib = f"{segment}/calib" if fmt == "kitti" else None
    return SegmentLayout(segment, segment, f"{segment}/data", f"{segment}/{labels}", classes, calib)


def manifest_doc(
    live: Dataset, *, remote: str, block_key: str, block: Mapping[str, Any], fmt: str, with_sensors: bool,
    frames: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The manifest (a JSON value) that declares ``live`` as it is on ``remote``; ``frames``
    gives fusion segments their ``frames`` entry (:mod:`.frames`)."""
    spec: dict[str, Any] = {"remote": remote}
    if block:
        spec[block_key] = dict(block)
    if live.catalog:
        spec["catalog"] = {t: dict(sub) for t, sub in live.catalog.items()}
    segments = []
    for name in sorted(live.segments):
        seg = live.segments[name]
        layout = segment_layout(name, fmt)
        entry: dict[str, Any] = {"name": name}
        if seg.description:
            entry["description"] = seg.description
        if with_sensors and seg.sensors:
            entry["sensors"] = [dict(seg.sensors[s]) for s in sorted(seg.sensors)]
        entry["data"] = {"path": layout.data}
        if frames and name in frames:
            entry["frames"] = dict(frames[name])
        entry["labels"] = layout.label_source(fmt)
        segments.append(entry)
    spec["segments"] = segments
    return {"apiVersion": "labelsync/v1", "kind": "Dataset", "metadata": {"name": live.name}, "spec": spec}


def manifest_text(doc: Mapping[str, Any], *, origin: str) -> str:
    """``doc`` as YAML, with a first comment line saying where it came from."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    out = StringIO()
    yaml.dump(_plain(doc), out)
    return f"# {origin}\n" + out.getvalue()


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
