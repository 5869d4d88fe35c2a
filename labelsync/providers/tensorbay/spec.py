"""The TensorBay provider's spec: its ``spec.tensorbay:`` block, capabilities and defaults.

Pure: pydantic models and values, no I/O (the manifest layer imports this module).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from labelsync.providers.contract import Capabilities, EmulatorSpec, ProviderSettings, ProviderSpec

DEFAULT_BRANCH = "main"


class Notes(ProviderSettings):
    """TensorBay dataset notes."""

    is_continuous: bool = False
    """Data items are a continuous sequence (video-like)."""
    bin_point_cloud_fields: list[str] | None = None
    """Field names of ``.bin`` point clouds, e.g. ``[X, Y, Z, Intensity]``."""


class TensorBaySettings(ProviderSettings):
    """``spec.tensorbay:``: the dataset type, alias, branch and notes."""

    type: Literal["normal", "fusion"] = "normal"
    """``normal`` (default) or ``fusion`` (sensors and frames)."""
    alias: str | None = None
    """The dataset's display alias."""
    branch: Annotated[str, Field(min_length=1)] = DEFAULT_BRANCH
    """The branch to commit to."""
    notes: Notes | None = None

    def dataset_kind(self) -> str:
        return self.type

    def has_sensors(self) -> bool:
        return self.type == "fusion"

    def groups_frames(self) -> bool:
        return self.type == "fusion"

    def branch_name(self) -> str:
        return self.branch

    def settings_json(self) -> dict[str, Any]:
        return {"alias": self.alias} if self.alias else {}

    def notes_json(self) -> dict[str, Any]:
        notes = self.notes
        return {
            "isContinuous": bool(notes.is_continuous) if notes else False,
            "binPointCloudFields": list(notes.bin_point_cloud_fields) if notes and notes.bin_point_cloud_fields else None,
        }

    @classmethod
    def block_from_live(cls, dataset: Any) -> dict[str, Any]:
        block: dict[str, Any] = {"type": dataset.kind}
        if dataset.settings.get("alias"):
            block["alias"] = dataset.settings["alias"]
        if dataset.branch != DEFAULT_BRANCH:
            block["branch"] = dataset.branch
        notes: dict[str, Any] = {}
        if dataset.notes.get("isContinuous"):
            notes["isContinuous"] = True
        if dataset.notes.get("binPointCloudFields"):
            notes["binPointCloudFields"] = list(dataset.notes["binPointCloudFields"])
        if notes:
            block["notes"] = notes
        return block


SPEC = ProviderSpec(
    name="tensorbay",
    title="TensorBay",
    token_env="TENSORBAY_ACCESS_KEY",
    capabilities=Capabilities(versioned=True, content_mutable=True, shardable=True, fusion=True, renames_in_place=True),
    settings_model=TensorBaySettings,
    connect="labelsync.providers.tensorbay:connect",
    emulator=EmulatorSpec("labelsync.emulator.tensorbay", port=18081, tls=True, api_path="/gatewayv2/tensorbay-open-api/v1/", storage_workers=True),
    check="labelsync.providers.tensorbay.checks:check",
    describe_status="labelsync.providers.tensorbay.status:describe",
)
