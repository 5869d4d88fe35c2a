"""The provider contract: what a platform tells the core about itself.

A provider is one folder, ``labelsync/providers/<name>/``, whose ``spec.py`` defines one
:class:`ProviderSpec`, listed in :mod:`labelsync.providers.registry`. The core (manifest,
desired state, plan, engine, cli, github) decides everything provider-specific through that
spec and never names a provider:

* :attr:`ProviderSpec.settings_model` validates the manifest's ``spec.<name>:`` block (the
  JSON Schema is generated from it) and turns it into the desired ``kind``, ``branch``,
  ``settings`` and ``notes`` of :class:`labelsync.state.Dataset`;
* :class:`Capabilities` decide the generic behaviour: whether a plan can be proven a no-op
  by a recorded digest (``versioned``), whether content changes in place or needs a replace
  (``content_mutable``), which label types a catalog may hold, and so on;
* ``connect``, ``emulator`` and ``check`` are import paths (``"module:attribute"``) so that
  reading a manifest never imports a provider's HTTP client or its emulator.

This module is pure: dataclasses and pydantic models, no I/O.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

JSON = Any

ALL_LABEL_TYPES = frozenset(
    {
        "CLASSIFICATION", "BOX2D", "BOX3D", "POLYGON", "MULTI_POLYGON", "RLE", "POLYLINE2D", "MULTI_POLYLINE2D",
        "KEYPOINTS2D", "SENTENCE", "SEMANTIC_MASK", "INSTANCE_MASK", "PANOPTIC_MASK",
    }
)
"""Every label type of labelsync's label JSON (TensorBay's, ``docs/labels.md``)."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a platform can do; the differ, engine and CLI branch on these, never on names.

    ``versioned``: the platform keeps immutable revisions (commits on a branch). Apply opens
    a draft and commits once, the commit records the desired digest, and a plan whose digest
    equals the recorded one is a no-op proven in O(1) requests. Plans name the branch.

    ``content_mutable``: files can be added, replaced and deleted, and the catalog changed,
    in place. When False, any change but labels is one ``replace`` of the whole dataset,
    which needs ``allowReplace`` (and is never done to a protected dataset).

    ``deletes_labels``: a label removed locally can be removed remotely. When False the
    plan notes that removed labels stay.

    ``renames_in_place``: a category rename moves its labels without re-sending files.

    ``shardable``: one apply can be split over machines (``apply --prepare/--shard``).

    ``fusion``: segments may declare sensors and frames.

    ``label_types``: the catalog types this platform can hold; others are validation
    errors that name the provider.
    """

    versioned: bool = False
    content_mutable: bool = True
    deletes_labels: bool = True
    renames_in_place: bool = False
    shardable: bool = False
    fusion: bool = False
    label_types: frozenset[str] = ALL_LABEL_TYPES


class ProviderSettings(BaseModel):
    """Base of a provider's ``spec.<name>:`` block; subclasses add the provider's fields.

    The defaults of every method describe a provider with no settings. A subclass overrides
    what it has. Values equal to the provider's default are left out of :meth:`settings_json`
    and :meth:`notes_json`, so desired and live compare equal.
    """

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, populate_by_name=True, alias_generator=to_camel,
        use_attribute_docstrings=True,
    )

    default_kind: ClassVar[str] = "normal"

    def dataset_kind(self) -> str:
        """The dataset's kind (``Dataset.kind``), e.g. ``normal``/``fusion`` or ``images``."""
        return self.default_kind

    def has_sensors(self) -> bool:
        """True when the dataset's segments may declare sensors (a multi-sensor dataset)."""
        return False

    def groups_frames(self) -> bool:
        """True when labelsync groups each segment's files into frames of its sensors
        (:mod:`labelsync.local.frames`) and the remote holds the sensors."""
        return False

    def branch_name(self) -> str | None:
        """The branch a versioned provider writes to (``None``: unversioned)."""
        return None

    def settings_json(self) -> dict[str, JSON]:
        """The dataset settings the differ compares as a whole (defaults left out)."""
        return {}

    def notes_json(self) -> dict[str, JSON]:
        """The dataset notes as the server returns them (``{}`` when the provider has none)."""
        return {}

    @classmethod
    def block_from_live(cls, dataset: Any) -> dict[str, JSON]:
        """The ``spec.<name>:`` block (manifest keys, camelCase) that stands for a live
        :class:`labelsync.state.Dataset`'s ``kind``, ``branch``, ``settings`` and ``notes``,
        defaults left out (``labelsync import``). Validated by this model, the block gives
        back the same :meth:`dataset_kind`, :meth:`branch_name`, :meth:`settings_json` and
        :meth:`notes_json` (``labelsync import`` checks it). ``{}`` for a provider with no
        settings."""
        return {}

    @classmethod
    def probe_settings(cls, name: str) -> dict[str, JSON]:
        """The desired ``settings`` ``labelsync import REMOTE NAME`` reads the remote with
        (its probe's :attr:`labelsync.state.Dataset.settings`): how ``NAME`` is looked up.
        ``{}`` (the defaults) unless the provider adopts things it did not make by another
        key (Label Studio: a project title)."""
        return {}


class RemoteSettings(BaseModel):
    """Base of the provider-specific keys of a remote in ``labelsync.yaml`` (e.g. ``clientId``).

    ``required_for_servers`` lists the keys a remote must give unless its url is ``local``.
    :meth:`url_problem` is the provider's own rule for the remote's url (checked when
    ``labelsync.yaml`` is read, so ``validate`` reports it).
    """

    required_for_servers: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def url_problem(cls, url: str) -> tuple[str, str] | None:
        """``(message, fix)``, one line each, when this provider's remotes cannot use ``url``
        (``local`` is the embedded emulator); None when it can. Default: any url."""
        return None

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, populate_by_name=True, alias_generator=to_camel,
        use_attribute_docstrings=True,
    )


@dataclass(frozen=True, slots=True)
class EmulatorSpec:
    """A provider's local emulator, for ``labelsync emulator <name>`` and local remotes.

    ``module`` exports ``create_app(data_dir, *, tokens, faults=None)`` (an ASGI app) and
    ``LOCAL_TOKEN`` (the token it accepts when given none; not a secret). A client's remote
    url is ``http://host:port`` + ``client_path``. ``client_settings`` are remote settings
    a client needs to reach it (printed as ``LABELSYNC_REMOTE_<NAME>_<SETTING>``); ``tls``
    says whether it can serve HTTPS (``--certfile``/``--keyfile``); ``api_path`` is where
    its API lives under the server, shown on start. ``storage_workers`` says whether its
    upload route can be served by worker processes (``--storage-workers N``: ``module``
    then also exports ``StorageHost(data_dir, workers, *, host, faults, ssl_certfile,
    ssl_keyfile)`` and ``create_app`` takes ``storage_port``).
    """

    module: str
    port: int
    client_path: str = ""
    api_path: str = ""
    client_settings: Mapping[str, str] = field(default_factory=dict)
    tls: bool = False
    storage_workers: bool = False


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """Everything the core knows about one provider.

    ``name`` is the value of ``provider:`` in ``labelsync.yaml`` and the key of the
    manifest's ``spec.<name>:`` block. ``token_env`` is the default environment variable of
    the token. ``connect`` is ``"module:function"`` of ``connect(remote, url, token, *,
    jobs) -> Provider``; ``emulator`` its :class:`EmulatorSpec` (``None`` when the provider
    has no emulator: its remotes need a real url). ``check`` is ``"module:function"`` of ``check(doc, manifest, block) ->
    list[Diagnostic]``, the provider's own semantic rules. ``describe_status`` is
    ``"module:function"`` of ``describe(head, sync, facts) -> list[str]``: the text lines of
    ``labelsync status`` for the facts the provider's ``status()`` returned.
    """

    name: str
    title: str
    token_env: str
    capabilities: Capabilities
    settings_model: type[ProviderSettings]
    connect: str
    remote_model: type[RemoteSettings] = RemoteSettings
    emulator: EmulatorSpec | None = None
    check: str | None = None
    check_data: str | None = None
    """``"module:function"`` of ``check_data(doc, block, where, files) -> list[Diagnostic]``:
    the provider's rules for one segment's data files (``[(remote path, local path)]``)."""
    describe_status: str = ""
    unsupported_notes: Mapping[str, str] = field(default_factory=dict)
    """Why a label type outside ``capabilities.label_types`` cannot be held, per type."""
    local_remote_defaults: Mapping[str, JSON] = field(default_factory=dict)
    """Remote settings a local (embedded-emulator) remote gets when the file leaves them out."""

    def emulator_module(self) -> Any:
        """The emulator's module (``create_app``, ``LOCAL_TOKEN``); :class:`LookupError` without one."""
        if self.emulator is None:
            raise LookupError(f"provider {self.name!r} has no emulator")
        return importlib.import_module(self.emulator.module)

    def load(self, attribute: str) -> Callable[..., Any]:
        """Import one of the ``"module:function"`` attributes (``connect``, ``check``)."""
        target = getattr(self, attribute)
        if not target:
            raise LookupError(f"provider {self.name!r} has no {attribute}")
        module, _, name = str(target).partition(":")
        return getattr(importlib.import_module(module), name)

