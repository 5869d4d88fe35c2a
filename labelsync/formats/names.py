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
"""The formats ``labelsync convert --to`` writes (kitti is read only)."""
