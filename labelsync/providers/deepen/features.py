"""How labelsync's label types (TensorBay's) map to Deepen labelling-profile features.

The catalog is written once, in TensorBay's terms (``api/tensorbay.md`` §4.1). For a deepen
dataset each label type becomes a ``features`` entry of the labelling profile
(``api/deepen.md`` §3.5, §6) named by :data:`DEEPEN_FEATURES`. A type mapped to ``None``
has no Deepen equivalent: using it in a deepen manifest is a validation error that names
the provider (:mod:`.checks`). The same table is in ``docs/manifest.md``.

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DeepenFeature:
    """The Deepen feature (label type) a TensorBay type maps to, and where it is allowed."""

    feature: str | None
    """The key in the profile's ``features``/``skills``; ``None`` when there is no equivalent."""
    dataset_types: tuple[str, ...] = ("images", "video", "3d")
    """The deepen ``datasetType`` values that can hold this feature."""
    note: str = ""


DEEPEN_FEATURES: dict[str, DeepenFeature] = {
    "BOX2D": DeepenFeature("box", note="box [x, y, w, h] <-> box2d {xmin, ymin, xmax, ymax}"),
    "POLYGON": DeepenFeature("polygon", note="one ring per label"),
    "POLYLINE2D": DeepenFeature("lane", note="open polyline; isBeizerCurve is not supported"),
    "KEYPOINTS2D": DeepenFeature("point", note="single points only: every keypoints definition must have number: 1"),
    "CLASSIFICATION": DeepenFeature("scene", note="frame-level category and attributes"),
    "BOX3D": DeepenFeature("3d_bbox", dataset_types=("3d",), note="translation/size/rotation <-> cx,cy,cz,l,w,h,quaternion"),
    "MULTI_POLYGON": DeepenFeature(None, note="no multi-ring polygon type in the profile"),
    "MULTI_POLYLINE2D": DeepenFeature(None, note="no multi-line type in the profile"),
    "RLE": DeepenFeature(None, note="no run-length mask type"),
    "SENTENCE": DeepenFeature(None, note="no audio transcription type"),
    "SEMANTIC_MASK": DeepenFeature(
        None, note="2D semantic painting exists, but its profile key and label transport are undocumented (api/deepen.md §5.9, §10)"
    ),
    "INSTANCE_MASK": DeepenFeature(None, note="no 2D instance painting type"),
    "PANOPTIC_MASK": DeepenFeature(None, note="no 2D panoptic painting type"),
}
"""TensorBay label type -> Deepen feature. Every TensorBay type has an entry."""


def deepen_feature(label_type: str) -> DeepenFeature:
    """The mapping of one TensorBay label type (``DeepenFeature(None)`` when unknown)."""
    return DEEPEN_FEATURES.get(label_type, DeepenFeature(None, note="unknown label type"))
