"""The Label Studio provider's spec: its ``spec.labelstudio:`` block, capabilities and defaults.

Label Studio (open source, 1.23.x) runs for real in the tests, so it has no emulator: its
remotes need a url (the server root, without ``/api``). Its token is a personal access token
or a legacy token (``$LABEL_STUDIO_TOKEN`` unless the remote names another variable). Pure:
no I/O.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from labelsync.providers.contract import ALL_LABEL_TYPES, Capabilities, ProviderSettings, ProviderSpec
from labelsync.providers.labelstudio.project import MAX_TITLE

LABEL_TYPES = frozenset({"CLASSIFICATION", "BOX2D", "POLYGON", "POLYLINE2D", "KEYPOINTS2D", "SEMANTIC_MASK"})

_NOTES = {
    "BOX3D": "Label Studio has no 3D cuboid tag",
    "MULTI_POLYGON": "a Label Studio region is one polygon; declare POLYGON",
    "MULTI_POLYLINE2D": "a Label Studio region is one polyline; declare POLYLINE2D",
    "RLE": "Label Studio's brush RLE is its own format; declare SEMANTIC_MASK",
    "SENTENCE": "labelsync holds images in Label Studio, not audio transcriptions",
    "INSTANCE_MASK": "Label Studio brushes hold one category per region, not instance ids; declare SEMANTIC_MASK",
    "PANOPTIC_MASK": "Label Studio brushes hold one category per region, not instance ids; declare SEMANTIC_MASK",
}


class LabelStudioSettings(ProviderSettings):
    """``spec.labelstudio:``: how the dataset's project is named."""

    default_kind = "images"

    title: Annotated[str, Field(min_length=1, max_length=MAX_TITLE)] | None = None
    """The project title (at most 50 characters); default ``labelsync:<dataset name>``."""

    def settings_json(self) -> dict[str, Any]:
        return {"title": self.title} if self.title else {}


SPEC = ProviderSpec(
    name="labelstudio",
    title="Label Studio",
    token_env="LABEL_STUDIO_TOKEN",
    capabilities=Capabilities(content_mutable=True, deletes_labels=True, fusion=False, label_types=LABEL_TYPES),
    settings_model=LabelStudioSettings,
    connect="labelsync.providers.labelstudio:connect",
    check="labelsync.providers.labelstudio.checks:check",
    describe_status="labelsync.providers.labelstudio.status:describe",
    unsupported_notes={t: _NOTES.get(t, "no Label Studio tag holds it") for t in ALL_LABEL_TYPES - LABEL_TYPES},
)
