"""The Label Studio provider's spec: its ``spec.labelstudio:`` block, capabilities and defaults.

Label Studio (open source, 1.23.x) runs for real in the tests, so it has no emulator: its
remotes need a url (the server root, without ``/api``). Its token is a personal access token
or a legacy token (``$LABEL_STUDIO_TOKEN`` unless the remote names another variable). Pure:
no I/O.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from labelsync.providers.contract import (
    ALL_LABEL_TYPES,
    Capabilities,
    ProviderSettings,
    ProviderSpec,
    RemoteSettings,
)
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
    adopted: bool = False
    """The project was made in Label Studio, not by labelsync (``labelsync import``): it is the
    project of exactly ``title``, read through its own label config (``docs/labelstudio.md``)."""

    def settings_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"title": self.title} if self.title else {}
        if self.adopted:
            out["adopted"] = True
        return out

    @classmethod
    def block_from_live(cls, dataset: Any) -> dict[str, Any]:
        settings = dict(getattr(dataset, "settings", {}) or {})
        out: dict[str, Any] = {"title": settings["title"]} if settings.get("title") else {}
        if settings.get("adopted"):
            out["adopted"] = True
        return out

    @classmethod
    def probe_settings(cls, name: str) -> dict[str, Any]:
        """``labelsync import REMOTE PROJECT``: the project titled exactly ``PROJECT`` (made in
        Label Studio), else labelsync's project of dataset ``PROJECT``."""
        return {"title": name, "adopted": True}


class LabelStudioRemote(RemoteSettings):
    """A Label Studio remote in ``labelsync.yaml``: no extra keys; its url must be a server."""

    @classmethod
    def url_problem(cls, url: str) -> tuple[str, str] | None:
        if url != "local":
            return None
        return (
            "Label Studio has no embedded emulator, so url 'local' (the default) cannot be used",
            "start Label Studio (label-studio start --no-browser --port 8080) and give its URL: url: http://127.0.0.1:8080",
        )


SPEC = ProviderSpec(
    name="labelstudio",
    title="Label Studio",
    token_env="LABEL_STUDIO_TOKEN",
    capabilities=Capabilities(content_mutable=True, deletes_labels=True, fusion=False, label_types=LABEL_TYPES),
    settings_model=LabelStudioSettings,
    remote_model=LabelStudioRemote,
    connect="labelsync.providers.labelstudio:connect",
    check="labelsync.providers.labelstudio.checks:check",
    describe_status="labelsync.providers.labelstudio.status:describe",
    unsupported_notes={t: _NOTES.get(t, "no Label Studio tag holds it") for t in ALL_LABEL_TYPES - LABEL_TYPES},
)
