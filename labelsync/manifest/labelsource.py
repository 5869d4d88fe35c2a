"""``labels:`` of a segment: where its labels are and in which format (see ``docs/labels.md``).

``format`` names a reader of :mod:`labelsync.formats` (``tensorbay`` JSON Lines, the
default; ``coco``, ``voc``, ``yolo``, ``labelme``, ``kitti``). ``path`` is a file for
``tensorbay`` and ``coco`` and a directory for the others. A format that needs more than
one path has its own option, allowed only with that format (the JSON Schema says so with
``dependentSchemas``, and the model with a validator, so both give the same verdict):

* ``classes`` (``yolo``): the class-names file (``classes.txt`` or ``data.yaml``); default:
  the first found in the labels directory or the two above it;
* ``calib`` (``kitti``): the calibration directory; default: ``calib`` next to the labels
  directory.

Images that YOLO coordinates are normalised by, and that labelme ``imagePath`` values point
at, are the segment's ``data.path``; KITTI remotePaths (``image_2/<frame>.png``,
``velodyne/<frame>.bin``) are relative to it too.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, WithJsonSchema, model_validator

from labelsync.formats.names import DEFAULT, FILE_FORMATS, NAMES
from labelsync.manifest.base import StrictModel

LABEL_FORMATS = NAMES


def _known(name: str) -> str:
    if name not in NAMES:
        raise ValueError(f"unknown label format {name!r}; one of {', '.join(NAMES)}")
    return name


LabelFormat = Annotated[str, AfterValidator(_known), WithJsonSchema({"type": "string", "enum": list(NAMES)})]
"""A label format of :mod:`labelsync.formats` (``names.NAMES``)."""
OPTIONS = {"classes": "yolo", "calib": "kitti"}
"""Each format option and the one format that takes it."""

Path_ = Annotated[str, Field(min_length=1)]


class LabelSource(StrictModel):
    """The segment's labels: a file or directory relative to the manifest, in ``format``.

    ``tensorbay`` (the default) is JSON Lines, one line per labelled data item::

        {"remotePath": "img/0001.jpg", "label": {"BOX2D": [...], "CLASSIFICATION": {...}}}

    ``label`` is TensorBay label JSON (``api/tensorbay.md`` §4), checked against the catalog.
    Masks reference image files relative to the label file instead of a checksum::

        {"SEMANTIC_MASK": {"path": "masks/0001.png", "info": [{"categoryId": 1}]}}

    Blank lines are ignored; a data item with no line has no label. The other formats are
    read into the same label JSON (conventions in ``docs/labels.md``).
    """

    model_config = ConfigDict(
        json_schema_extra={
            "dependentSchemas": {
                option: {"properties": {"format": {"const": fmt}}, "required": ["format"]}
                for option, fmt in OPTIONS.items()
            }
        }
    )

    format: LabelFormat = DEFAULT
    """The label format: tensorbay (JSON Lines, default), coco, voc, yolo, labelme or kitti."""
    path: Path_
    """The label file (tensorbay, coco) or directory (voc, yolo, labelme, kitti: label_2)."""
    classes: Path_ | None = None
    """yolo only: the class-names file (classes.txt or data.yaml); default: found near the labels."""
    calib: Path_ | None = None
    """kitti only: the calibration directory (one calib/<frame>.txt per frame); default: ../calib."""

    @model_validator(mode="after")
    def _options_fit_format(self) -> LabelSource:
        for option, fmt in OPTIONS.items():
            if getattr(self, option) is not None and self.format != fmt:
                raise ValueError(f"'{option}' is a {fmt} option; set format: {fmt} or remove it")
        return self

    def options(self) -> dict[str, str]:
        """The format options given: option name -> declared path."""
        return {o: getattr(self, o) for o in OPTIONS if getattr(self, o) is not None}

    @property
    def is_file(self) -> bool:
        return self.format in FILE_FORMATS
