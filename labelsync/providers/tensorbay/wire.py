"""The TensorBay Open API answers labelsync reads, as wire shapes (``api/tensorbay.md``).

Each is a ``TypedDict`` checked by :func:`labelsync.providers.answers.wire` at the client
boundary: keys labelsync reads must be there with the right type; other keys are ignored.
"""

from __future__ import annotations

from typing import Any, NotRequired

from typing_extensions import TypedDict

from labelsync.providers.answers import Count, wire


@wire
class Named(TypedDict):
    name: str


@wire
class DatasetEntry(TypedDict):
    id: str
    name: str


@wire
class Datasets(TypedDict):
    datasets: list[DatasetEntry]


@wire
class IdOnly(TypedDict):
    id: str


@wire
class Dataset(TypedDict):
    id: str
    name: str
    type: int
    defaultBranch: str
    commitId: NotRequired[str | None]
    alias: NotRequired[str | None]


@wire
class Branch(TypedDict):
    name: str
    commitId: str
    description: NotRequired[str | None]
    title: NotRequired[str | None]


@wire
class Branches(TypedDict):
    branches: list[Branch]


@wire
class Draft(TypedDict):
    number: int
    title: str
    branchName: NotRequired[str]
    description: NotRequired[str | None]


@wire
class Created(TypedDict):
    draftNumber: int


@wire
class Committed(TypedDict):
    commitId: str


@wire
class Notes(TypedDict):
    isContinuous: bool
    binPointCloudFields: list[str] | None


@wire
class Catalog(TypedDict):
    catalog: dict[str, Any]


@wire
class LabelStatistics(TypedDict):
    labelStatistics: dict[str, Any]


@wire
class Segment(TypedDict):
    name: str
    description: NotRequired[str | None]


@wire
class Sensors(TypedDict):
    sensors: list[Named]


@wire
class Detail(TypedDict):
    remotePath: str
    checksum: NotRequired[str | None]
    fileSize: NotRequired[int | None]
    label: NotRequired[dict[str, Any] | None]
    timestamp: NotRequired[float | None]
    sensorName: NotRequired[str | None]


@wire
class Frame(TypedDict):
    frameId: str
    frame: list[Detail]


@wire
class PolicyExtra(TypedDict):
    host: str
    objectPrefix: str


@wire
class Policy(TypedDict):
    result: dict[str, str | int | None]
    extra: PolicyExtra
    expireAt: int


@wire
class DraftPage(TypedDict):
    drafts: list[Draft]
    totalCount: Count


@wire
class SegmentPage(TypedDict):
    segments: list[Segment]
    totalCount: Count


@wire
class DetailPage(TypedDict):
    dataDetails: list[Detail | Frame]
    totalCount: Count


PAGES: dict[str, Any] = {"drafts": DraftPage, "segments": SegmentPage, "dataDetails": DetailPage}
"""The wire model of one page of each paged listing, by its items' key."""
