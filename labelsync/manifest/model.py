"""The manifest format v1 as frozen pydantic models: the single source of the JSON Schema.

A manifest is one YAML document: ``apiVersion: labelsync/v1``, ``kind: Dataset``,
``metadata: {name: city-driving}`` and ``spec: {remote, catalog, segments, <provider>: {...}}``.

Conventions (the contract with ``labelsync.local`` and ``labelsync.desired``):

* YAML keys are camelCase (``allowReplace``, ``datasetType``); the label catalog keeps the
  TensorBay spelling (``BOX2D``, ``isTracking``, ``parentCategories``). Python attributes are
  snake_case; dump with ``by_alias=True`` to get the YAML/JSON spelling back.
* Every model is frozen and rejects unknown keys (``extra="forbid"``); values are strict
  (no ``"1"`` -> ``1`` coercion), so the JSON Schema generated from these models
  (``schemas/labelsync-v1.schema.json``) and the models give the same verdict.
* Paths (``data.path``, ``labels.path``, ``frames.timestamps``) are strings, relative to the
  directory of the manifest file, with ``/`` separators; they are checked (no absolute
  paths, no ``..`` escapes, inside the repository) by :mod:`labelsync.manifest.semantic`.
* Settings that only one provider understands live in that provider's block,
  ``spec.<provider>:``, validated by the provider's settings model (one optional block per
  registered provider, so the JSON Schema lists them all); a block for another provider
  than the remote's is a semantic error.
* :func:`catalog_json` and :func:`sensor_json` give the TensorBay JSON (``api/tensorbay.md``
  §4.1 and §5.1), the form :mod:`labelsync.state` holds.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, create_model

from labelsync.manifest.base import Number, RenamedFrom, RenamedValue
from labelsync.manifest.base import StrictModel as _Model
from labelsync.manifest.labelsource import LabelSource
from labelsync.providers.contract import ProviderSettings
from labelsync.providers.registry import PROVIDERS

API_VERSION = "labelsync/v1"
KIND = "Dataset"


NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$"
"""Dataset, segment and sensor names: a letter or digit, then letters, digits, ``_.-``."""

Name = Annotated[str, Field(pattern=NAME_PATTERN)]

AttributeType = Literal["boolean", "integer", "number", "string", "array", "null", "instance"]


def _registered(name: str) -> str:
    if name not in PROVIDERS:
        raise ValueError(f"unknown provider {name!r}; one of {', '.join(PROVIDERS)}")
    return name


ProviderName = Annotated[str, AfterValidator(_registered), WithJsonSchema({"type": "string", "enum": list(PROVIDERS)})]
"""A registered provider's name (:data:`labelsync.providers.registry.PROVIDERS`)."""


# --------------------------------------------------------------------------- catalog


class Category(_Model):
    """A category of a non-mask label type (``api/tensorbay.md`` §4.1)."""

    name: Annotated[str, Field(min_length=1)]
    """Category name; with ``categoryDelimiter`` set, a hierarchical name such as ``vehicle.car``."""
    description: str | None = None
    renamed_from: RenamedFrom | None = None
    """The old name: labels using it are this category, the remote's are renamed (not sent)."""


class MaskCategory(_Model):
    """A category of a mask label type: the name plus its pixel value ``categoryId``."""

    name: Annotated[str, Field(min_length=1)]
    category_id: Annotated[int, Field(ge=0)]
    """The pixel value of this category in the mask images."""
    description: str | None = None
    renamed_from: RenamedFrom | None = None


class AttributeItems(_Model):
    """The element schema of an ``array`` attribute (nested like JSON Schema ``items``)."""

    type: AttributeType | list[AttributeType] | None = None
    enum: list[Any] | None = None
    minimum: Number | None = None
    maximum: Number | None = None
    items: AttributeItems | None = None


class Attribute(_Model):
    """An attribute definition: a JSON-Schema-like constraint on label attribute values.

    ``parentCategories`` limits the attribute to labels of those categories; absent means
    it applies to every category of the label type. ``renamedFrom`` (old name) and
    ``renamedValues`` declare renames (:mod:`labelsync.renames`; not part of the catalog sent).
    """

    name: Annotated[str, Field(min_length=1)]
    type: AttributeType | list[AttributeType] | None = None
    enum: list[Any] | None = None
    minimum: Number | None = None
    maximum: Number | None = None
    items: AttributeItems | None = None
    parent_categories: list[str] | None = None
    description: str | None = None
    renamed_from: RenamedFrom | None = None
    renamed_values: Annotated[list[RenamedValue], Field(min_length=1)] | None = None
    """Enum values that were another value before: ``[{value: coach, renamedFrom: bus}]``."""


class KeypointsDefinition(_Model):
    """A KEYPOINTS2D definition: how many points, their names, skeleton and visibility."""

    number: Annotated[int, Field(ge=1)]
    """The number of keypoints every label of this definition has."""
    names: list[str] | None = None
    skeleton: list[Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=2, max_length=2)]] | None = None
    """Pairs of keypoint indexes (0-based) joined by a line."""
    visible: Literal["TERNARY", "BINARY"] | None = None
    """``TERNARY``: ``v`` is 0/1/2 (invisible/occluded/visible); ``BINARY``: ``v`` is 0/1."""
    parent_categories: list[str] | None = None
    description: str | None = None


class _Subcatalog(_Model):
    description: str | None = None
    attributes: list[Attribute] | None = None


class ClassificationCatalog(_Subcatalog):
    """CLASSIFICATION: one category and/or attributes per data item."""

    categories: list[Category] | None = None
    category_delimiter: str | None = None


class ObjectCatalog(_Subcatalog):
    """BOX2D, BOX3D, POLYGON, MULTI_POLYGON, RLE, MULTI_POLYLINE2D: lists of objects."""

    categories: list[Category] | None = None
    category_delimiter: str | None = None
    is_tracking: bool = False
    """Objects carry an ``instance`` id that is stable across data items (tracking)."""


class Polyline2DCatalog(ObjectCatalog):
    """POLYLINE2D: like an object catalog, plus ``isBeizerCurve`` (sic, the TensorBay spelling)."""

    is_beizer_curve: bool = False
    """Labels carry ``beizerPointTypes`` (one ``L``/``C`` per point)."""


class Keypoints2DCatalog(ObjectCatalog):
    """KEYPOINTS2D: like an object catalog, plus the keypoints definitions."""

    keypoints: list[KeypointsDefinition] = []


class SentenceCatalog(_Subcatalog):
    """SENTENCE (audio transcripts): attributes, sampling and lexicon; no categories."""

    is_sample: bool = False
    """``begin``/``end`` are sample indexes (needs ``sampleRate``) rather than seconds."""
    sample_rate: Annotated[int, Field(ge=1)] | None = None
    lexicon: list[list[str]] | None = None
    """``[[word, phone, phone, ...], ...]``."""


class MaskCatalog(_Subcatalog):
    """SEMANTIC_MASK, PANOPTIC_MASK: categories with their pixel values."""

    categories: list[MaskCategory] | None = None
    category_delimiter: str | None = None


class InstanceMaskCatalog(MaskCatalog):
    """INSTANCE_MASK: a mask catalog plus ``isTracking``."""

    is_tracking: bool = False


class Catalog(_Model):
    """The label catalog, keyed by TensorBay label type; a type that is absent is not used."""

    model_config = ConfigDict(alias_generator=None)

    from_: Literal["labels"] | None = Field(default=None, alias="from")
    """``labels``: take the categories (and attributes, keypoints) from the segments' label
    files, from the format's own class list (COCO categories, YOLO names, the classes found
    in VOC/labelme/KITTI, the categories used in JSON Lines). A type declared here as well
    replaces the one taken from the labels."""
    classification: ClassificationCatalog | None = Field(default=None, alias="CLASSIFICATION")
    box2d: ObjectCatalog | None = Field(default=None, alias="BOX2D")
    box3d: ObjectCatalog | None = Field(default=None, alias="BOX3D")
    polygon: ObjectCatalog | None = Field(default=None, alias="POLYGON")
    multi_polygon: ObjectCatalog | None = Field(default=None, alias="MULTI_POLYGON")
    rle: ObjectCatalog | None = Field(default=None, alias="RLE")
    polyline2d: Polyline2DCatalog | None = Field(default=None, alias="POLYLINE2D")
    multi_polyline2d: ObjectCatalog | None = Field(default=None, alias="MULTI_POLYLINE2D")
    keypoints2d: Keypoints2DCatalog | None = Field(default=None, alias="KEYPOINTS2D")
    sentence: SentenceCatalog | None = Field(default=None, alias="SENTENCE")
    semantic_mask: MaskCatalog | None = Field(default=None, alias="SEMANTIC_MASK")
    instance_mask: InstanceMaskCatalog | None = Field(default=None, alias="INSTANCE_MASK")
    panoptic_mask: MaskCatalog | None = Field(default=None, alias="PANOPTIC_MASK")

    def types(self) -> dict[str, _Subcatalog]:
        """The label types in use, UPPER-CASE name -> subcatalog, in declaration order."""
        out: dict[str, _Subcatalog] = {}
        for attr, field in type(self).model_fields.items():
            if attr == "from_":
                continue
            value = getattr(self, attr)
            if value is not None:
                out[str(field.alias)] = value
        return out


# --------------------------------------------------------------------------- sensors


class Vector3(_Model):
    x: Number
    y: Number
    z: Number


class Quaternion(_Model):
    w: Number
    x: Number
    y: Number
    z: Number


class Extrinsics(_Model):
    """The sensor pose in the ego frame: translation (metres) and rotation (quaternion)."""

    translation: Vector3
    rotation: Quaternion


class CameraMatrix(_Model):
    fx: Number
    fy: Number
    cx: Number
    cy: Number
    skew: Number | None = None
    """Left out of the TensorBay JSON when absent (the SDK omits a skew of 0)."""


DistortionKey = Annotated[str, Field(pattern=r"^[kp][1-9][0-9]*$")]


class Intrinsics(_Model):
    """Camera intrinsics (CAMERA and FISHEYE_CAMERA only)."""

    camera_matrix: CameraMatrix
    distortion_coefficients: (
        Annotated[
            dict[DistortionKey, Number],
            Field(min_length=1),
            WithJsonSchema(
                {
                    "type": "object",
                    "minProperties": 1,
                    "patternProperties": {"^[kp][1-9][0-9]*$": {"type": "number"}},
                    "additionalProperties": False,
                    "description": "k1..kN radial and p1..pN tangential coefficients; needs k1 or p1.",
                }
            ),
        ]
        | None
    ) = None


class Sensor(_Model):
    """A sensor of a fusion segment (``api/tensorbay.md`` §5.1)."""

    name: Name
    type: Literal["LIDAR", "RADAR", "CAMERA", "FISHEYE_CAMERA"]
    description: str | None = None
    extrinsics: Extrinsics | None = None
    intrinsics: Intrinsics | None = None
    """Only for CAMERA and FISHEYE_CAMERA; a semantic error on LIDAR and RADAR."""


# --------------------------------------------------------------------------- segments


class DataSource(_Model):
    """Where a segment's data files are: a directory relative to the manifest file.

    Every regular file under ``path`` that matches one ``include`` pattern and no ``exclude``
    pattern is a data item. Patterns are gitignore-free globs on the ``/``-separated path
    relative to ``path`` (``**`` matches any number of directories); hidden files and
    directories (name starting with ``.``) are never data. The item's remote path is its path
    relative to ``path`` (for fusion datasets see :class:`Frames`).
    """

    path: Annotated[str, Field(min_length=1)]
    include: list[str] = ["**/*"]
    exclude: list[str] = []


class Frames(_Model):
    """How a fusion segment's files group into frames (tensorbay ``type: fusion`` only).

    Layout ``sensor-dirs`` (the only layout of v1): under ``data.path`` each sensor has a
    directory named after it, holding one file per frame named ``<frame>.<ext>``::

        data/day/cam_front/0001.jpg
        data/day/lidar/0001.pcd

    Files with the same ``<frame>`` stem form one frame; frames are ordered by name. A
    directory that names no sensor of the segment, or a file not exactly one level below
    ``data.path``, is an error. The remote path of a file is ``<sensor>/<file name>``
    relative to ``data.path``. Implemented by :mod:`labelsync.local.frames`.

    ``timestamps`` (optional) is a JSON file relative to the manifest mapping every frame
    name to its time in seconds since the epoch: ``{"0001": 1700000000.1, ...}``. Without it
    frame *i* (0-based, in name order) gets ``10 * i + 10`` seconds for its ID, as the SDK
    does. The stable frame ID is a ULID derived from that timestamp and a hash of segment
    and frame name.

    ``ids`` (optional): a JSON file ``{"0001": "<ULID>", ...}`` giving frames another tool
    created their IDs (``labelsync import`` writes it); other frames get the derived ID.

    With ``complete: true`` (the default) every frame must have a file for every sensor;
    a frame missing a sensor is a validation error.
    """

    layout: Literal["sensor-dirs"] = "sensor-dirs"
    timestamps: Annotated[str, Field(min_length=1)] | None = None
    ids: Annotated[str, Field(min_length=1)] | None = None
    complete: bool = True


class Segment(_Model):
    """A segment: a named group of data items with their labels (and sensors, for fusion)."""

    name: Name
    description: str | None = None
    sensors: list[Sensor] | None = None
    """Fusion datasets only: the sensors of this segment."""
    data: DataSource | None = None
    labels: LabelSource | None = None
    frames: Frames | None = None
    """Fusion datasets only; defaults to the ``sensor-dirs`` layout when sensors are declared."""


# --------------------------------------------------------------------------- dataset


class Metadata(_Model):
    name: Name
    """The remote dataset's name; unique per remote."""


def _provider_blocks() -> type[BaseModel]:
    """A base model with one optional ``spec.<provider>:`` block per registered provider."""
    fields: dict[str, Any] = {
        name: (spec.settings_model | None, Field(None, description=f"{spec.title} settings (only for {name} remotes)."))
        for name, spec in PROVIDERS.items()
    }
    return create_model("ProviderBlocks", __base__=_Model, **fields)


class Spec(_provider_blocks()):  # type: ignore[misc]
    """What the dataset should be: its remote, label catalog, segments and policy.

    Settings that only one provider understands live in that provider's block
    (``spec.<provider>:``, see :mod:`labelsync.providers.registry`); :meth:`block` reads it.
    """

    remote: Annotated[str, Field(min_length=1)] = "default"
    """A remote named in ``labelsync.yaml`` (or a built-in one, see ``labelsync.yaml`` docs)."""
    provider: ProviderName | None = None
    """Optional; when given it must agree with the remote's provider."""
    description: str | None = None
    catalog: Catalog | None = None
    segments: list[Segment] = []
    prune: bool = False
    """Delete remote segments, files and sensors that the manifest no longer lists."""
    protect: bool = False
    """Never delete or replace this dataset, whatever the flags."""
    allow_replace: bool = False
    """A change the platform cannot make in place may delete and re-create the dataset."""

    def block(self, provider: str) -> ProviderSettings:
        """The ``spec.<provider>:`` block, or that provider's defaults when it is absent."""
        value = getattr(self, provider, None)
        return value if value is not None else PROVIDERS[provider].settings_model()

    def blocks_set(self) -> list[str]:
        """The providers whose block the manifest gives, in registry order."""
        return [name for name in PROVIDERS if getattr(self, name, None) is not None]


class Manifest(_Model):
    """One manifest document (``kind: Dataset``)."""

    api_version: Literal["labelsync/v1"]
    kind: Literal["Dataset"]
    metadata: Metadata
    spec: Spec = Spec()


# --------------------------------------------------------------------------- JSON views


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True)


def catalog_json(catalog: Catalog | Manifest | None) -> dict[str, Any]:
    """The TensorBay catalog JSON (``api/tensorbay.md`` §4.1) of a catalog or manifest.

    Fields equal to their default (``isTracking: false``, empty ``description``) are left
    out as the SDK does; KEYPOINTS2D always carries ``keypoints`` (``[]`` when none). ``{}``
    when there is no catalog. Renames are left out (``manifest.renaming.catalog_renames``).
    """
    if isinstance(catalog, Manifest):
        catalog = catalog.spec.catalog
    if catalog is None:
        return {}
    out: dict[str, Any] = {}
    for key, sub in catalog.types().items():
        body = _dump(sub)
        for entry in [*(body.get("categories") or []), *(body.get("attributes") or [])]:
            entry.pop("renamedFrom", None), entry.pop("renamedValues", None)
        if body.get("description") == "":
            del body["description"]
        if isinstance(sub, Keypoints2DCatalog):
            body["keypoints"] = [_dump(k) for k in sub.keypoints]
        out[key] = body
    return out


def sensor_json(sensor: Sensor) -> dict[str, Any]:
    """The TensorBay sensor JSON (``api/tensorbay.md`` §5.1); empty description left out."""
    body = _dump(sensor)
    body["type"] = sensor.type  # a required field, never dropped
    if body.get("description") == "":
        del body["description"]
    return body
