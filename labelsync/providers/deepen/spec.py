"""The Deepen provider's spec: its ``spec.deepen:`` block, capabilities and defaults.

A Deepen dataset is a labelling job created with its data and its labelling profile, and
neither can change afterwards, so ``content_mutable`` is False: a data or catalog change is
a replace that needs ``allowReplace``. Pure: no I/O.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema

from labelsync.providers.contract import (
    Capabilities,
    EmulatorSpec,
    ProviderSettings,
    ProviderSpec,
    RemoteSettings,
)
from labelsync.providers.deepen.features import DEEPEN_FEATURES

LABEL_TYPES = frozenset(t for t, f in DEEPEN_FEATURES.items() if f.feature is not None)

DEFAULT_LABELLING_MODE = "frame_by_frame"


class PipelineStage(ProviderSettings):
    """A Deepen pipeline stage, e.g. ``{stage: Labelling, canEdit: true}``."""

    stage: Annotated[str, Field(min_length=1)]
    can_edit: bool = True


DEFAULT_PIPELINE: tuple[PipelineStage, ...] = (
    PipelineStage(stage="Labelling", can_edit=True),
    PipelineStage(stage="QA", can_edit=False),
)


class DeepenSettings(ProviderSettings):
    """``spec.deepen:``: the dataset type and the labelling job's settings."""

    default_kind = "images"

    dataset_type: Literal["images", "video", "3d"] = "images"
    dataset_format: Literal["json", "default"] | None = None
    """``datasetType: 3d`` only."""
    labelling_mode: Literal["frame_by_frame", "label_by_label"] | None = None
    """Default ``frame_by_frame``."""
    pipeline: list[PipelineStage] | None = None
    """Default ``[{stage: Labelling, canEdit: true}, {stage: QA, canEdit: false}]``."""
    instructions: str | None = None
    """Labelling instructions shown to labellers."""
    fps: Annotated[int | float, Field(gt=0), WithJsonSchema({"type": "number", "exclusiveMinimum": 0})] | None = None
    """``datasetType: video``: frames per second."""
    tags: list[str] | None = None

    def dataset_kind(self) -> str:
        return self.dataset_type

    def has_sensors(self) -> bool:
        return self.dataset_type == "3d"  # camera + lidar frames, laid out by the user

    def settings_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dataset_type": self.dataset_type}
        if self.dataset_format is not None:
            out["dataset_format"] = self.dataset_format
        if self.labelling_mode is not None and self.labelling_mode != DEFAULT_LABELLING_MODE:
            out["labelling_mode"] = self.labelling_mode
        if self.pipeline is not None and tuple(self.pipeline) != DEFAULT_PIPELINE:
            out["pipeline"] = [{"stage_id": s.stage, "can_edit": s.can_edit} for s in self.pipeline]
        if self.instructions:
            out["instructions"] = self.instructions
        if self.fps is not None:
            out["fps"] = self.fps
        if self.tags:
            out["tags"] = list(self.tags)
        return out

    @classmethod
    def block_from_live(cls, dataset: Any) -> dict[str, Any]:
        settings = dataset.settings
        block: dict[str, Any] = {"datasetType": settings.get("dataset_type") or dataset.kind}
        for key, name in (("dataset_format", "datasetFormat"), ("labelling_mode", "labellingMode"),
                          ("instructions", "instructions"), ("fps", "fps")):
            if settings.get(key) is not None:
                block[name] = settings[key]
        if settings.get("pipeline"):
            block["pipeline"] = [{"stage": s["stage_id"], "canEdit": bool(s["can_edit"])} for s in settings["pipeline"]]
        if settings.get("tags"):
            block["tags"] = list(settings["tags"])
        return block


class DeepenRemote(RemoteSettings):
    """The Deepen keys of a remote: the client (workspace) id used in every URL."""

    required_for_servers = ("clientId",)

    client_id: Annotated[str, Field(min_length=1)] | None = None


SPEC = ProviderSpec(
    name="deepen",
    title="Deepen",
    token_env="DEEPEN_API_TOKEN",
    capabilities=Capabilities(content_mutable=False, deletes_labels=False, fusion=True, label_types=LABEL_TYPES),
    settings_model=DeepenSettings,
    remote_model=DeepenRemote,
    connect="labelsync.providers.deepen:connect",
    emulator=EmulatorSpec(
        "labelsync.emulator.deepen", port=18082, client_path="/api/v2", client_settings={"clientId": "emulator"}
    ),
    check="labelsync.providers.deepen.checks:check",
    check_data="labelsync.providers.deepen.checks:check_data",
    describe_status="labelsync.providers.deepen.status:describe",
    unsupported_notes={t: f.note for t, f in DEEPEN_FEATURES.items() if f.feature is None},
    local_remote_defaults={"clientId": "local"},
)
