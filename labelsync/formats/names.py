"""The label formats labelsync reads and writes, as names (pure; the manifest layer reads it).

``DEFAULT`` is labelsync's own JSON Lines of TensorBay label JSON (``docs/labels.md``);
``LAYOUT`` says whether a format's ``path`` is one ``file`` or a ``directory`` of files.
"""

from __future__ import annotations

DEFAULT = "tensorbay"
LAYOUT = {DEFAULT: "file", "coco": "file", "voc": "directory", "yolo": "directory", "labelme": "directory", "kitti": "directory"}
NAMES = tuple(LAYOUT)
FILE_FORMATS = tuple(name for name, layout in LAYOUT.items() if layout == "file")
WRITABLE = ("coco", "voc", "yolo", "labelme", DEFAULT)
"""The formats ``labelsync convert --to`` writes (kitti needs calibration files it does not have)."""
IMPORTABLE = (*WRITABLE, "kitti")
"""The formats ``labelsync import --format`` writes (KITTI with the frames' calibration files)."""
HOLDS = {
    "coco": ("BOX2D", "POLYGON", "MULTI_POLYGON", "RLE", "KEYPOINTS2D"),
    "voc": ("BOX2D",),
    "yolo": ("BOX2D", "POLYGON"),
    "labelme": ("BOX2D", "POLYGON", "POLYLINE2D", "KEYPOINTS2D", "CLASSIFICATION"),
    "kitti": ("BOX2D", "BOX3D"),
}
"""The label types each foreign format has a place for (``tensorbay`` holds every type, item
timestamps and masks; no foreign format holds timestamps or masks)."""
