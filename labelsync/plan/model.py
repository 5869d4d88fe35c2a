"""The plan as data: what apply will do, per dataset, one :class:`Change` per address.

A plan is computed by :mod:`labelsync.plan.differ` (pure), saved by
:mod:`labelsync.plan.serialize` (versioned JSON), rendered by ``render_text`` and
``render_markdown``, and executed by :mod:`labelsync.engine.apply`, which never re-diffs.

Addresses name one thing on the remote::

    dataset.<name>
    dataset.<name>/catalog            dataset.<name>/notes      dataset.<name>/settings
    dataset.<name>/segment.<seg>
    dataset.<name>/segment.<seg>/sensor.<sensor>
    dataset.<name>/segment.<seg>/file.<remotePath>
    dataset.<name>/segment.<seg>/label.<remotePath>

``before``/``after`` are JSON values (``None`` for the side that does not exist) for the
small objects (catalog, notes, settings, segments, sensors). Files and labels are typed
values, mapped to JSON only by :mod:`labelsync.plan.serialize`:

* ``file`` create/update: ``before`` the live :class:`~labelsync.state.Item` (update) and
  ``after`` a :class:`FileChange`; ``file`` delete: ``before`` the live item;
* ``label`` update: ``before`` a :class:`LabelState`, ``after`` a :class:`FileChange`;
* ``dataset`` replace: ``after`` a :class:`Replacement` (the whole new dataset).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from labelsync.state import Blob

FORMAT_VERSION = 1

JSON = Any

class Action(StrEnum):
    """What a change does to its address."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    REPLACE = "replace"


class Kind(StrEnum):
    """What sort of thing a change addresses (also the apply phase order, see ``PHASES``)."""

    DATASET = "dataset"
    SETTINGS = "settings"
    CATALOG = "catalog"
    NOTES = "notes"
    SEGMENT = "segment"
    SENSOR = "sensor"
    FILE = "file"
    LABEL = "label"


@dataclass(frozen=True, slots=True)
class BlobTransfer:
    """Content to send: its identity and the local path (relative to the plan's root)."""

    checksum: str
    size: int
    source: str | None


@dataclass(frozen=True, slots=True)
class MaskUpload:
    """A mask file a label references (``kind`` e.g. ``SEMANTIC_MASK``) and where it is read."""

    kind: str
    blob: Blob
    source: str | None


@dataclass(frozen=True, slots=True)
class LabelState:
    """The label part of an item (the ``before`` of a label change)."""

    label: JSON = field(default_factory=dict)
    timestamp: float | None = None
    frame_id: str | None = None
    sensor_name: str | None = None


@dataclass(frozen=True, slots=True)
class FileChange:
    """A file as apply will write it: the item's fingerprint, where its bytes are read
    (``source``, relative to the plan's root), its mask files, and ``send``: the checksums
    (data and masks) whose bytes this change uploads (content the remote lacks and no
    earlier change of the plan sends)."""

    remote_path: str
    blob: Blob
    label: JSON = field(default_factory=dict)
    timestamp: float | None = None
    frame_id: str | None = None
    sensor_name: str | None = None
    source: str | None = None
    masks: tuple[MaskUpload, ...] = ()
    send: tuple[str, ...] = ()

    @property
    def needs_upload(self) -> bool:
        """True when this change sends some bytes."""
        return bool(self.send)

    def fingerprint(self) -> dict[str, JSON]:
        """The item fingerprint (:func:`labelsync.state.item_fingerprint`) of the written file."""
        return {
            "remotePath": self.remote_path, "checksum": self.blob.checksum, "fileSize": self.blob.size,
            "label": self.label, "timestamp": self.timestamp, "frameId": self.frame_id, "sensorName": self.sensor_name,
        }

    def label_state(self) -> LabelState:
        return LabelState(self.label, self.timestamp, self.frame_id, self.sensor_name)

    def transfers(self, *, data: bool = True) -> Iterator[BlobTransfer]:
        """The blobs this file needs stored: its data (unless ``data`` is False), then its masks."""
        if data:
            yield BlobTransfer(self.blob.checksum, self.blob.size, self.source)
        for mask in self.masks:
            yield BlobTransfer(mask.blob.checksum, mask.blob.size, mask.source)


@dataclass(frozen=True, slots=True)
class Replacement:
    """The whole new dataset of a ``replace`` (a provider whose content cannot change in
    place): what changed, its settings and catalog, and every file."""

    kind: str
    changed: tuple[str, ...]
    settings: Mapping[str, JSON]
    catalog: Mapping[str, JSON]
    items: tuple[FileChange, ...]

    @property
    def files(self) -> int:
        return len(self.items)


@dataclass(frozen=True, slots=True)
class Change:
    """One action on one address.

    ``upload_bytes`` is what apply will send for this change (0 when the remote already has
    the content, or for label-only changes). ``breaking`` marks catalog changes that
    invalidate existing labels and every deletion; ``reason`` explains a replace or a
    breaking change in one line.
    """

    action: Action
    kind: Kind
    address: str
    segment: str | None = None
    before: JSON = None
    after: JSON = None
    upload_bytes: int = 0
    breaking: bool = False
    reason: str | None = None

    @property
    def file(self) -> FileChange | None:
        """The typed ``after`` of a file or label change (None for a deletion and other kinds)."""
        return self.after if isinstance(self.after, FileChange) else None


@dataclass(frozen=True, slots=True)
class DatasetPlan:
    """The changes for one dataset, and what they were computed against.

    ``base`` is the remote revision the live state was read at (tensorbay: head commit of
    the branch; ``None`` when the dataset does not exist). ``desired_digest`` is the digest
    of the desired state. Apply refuses the plan when either moved ("plan is stale").
    ``blocked`` lists reasons this dataset's changes cannot be applied as planned (for
    example a replace without opt-in); apply refuses a plan with any. ``warnings`` are
    printed but do not block (for example "content cannot be verified").
    ``noop_proven`` is True when the remote's recorded digest equals the desired digest.
    ``branch`` is ``""`` for a provider without branches (deepen). ``tag`` is the tag the
    commit will get (``plan --tag``/``apply --tag``; tensorbay only): it is part of the plan,
    checked when planning (an existing tag blocks the plan) and shown.
    ``kept`` counts remote things the manifests no longer list that stay because prune is
    off (``{"files": 3, "segments": 1, "sensors": 0}``; files inside a kept segment count as
    kept files): drift that apply leaves alone.
    ``stats`` is ``{"before", "after"}`` label statistics (:mod:`labelsync.plan.stats`) of the
    live and the desired dataset, for review only (``None`` when not computed); apply never
    reads it. ``renames`` is the JSON of the declared renames this plan carries out
    (:class:`labelsync.renames.Renames`; ``None`` when none), also for review only.
    ``changes`` is a sequence in plan order: a tuple, or (from the differ) a
    :class:`~labelsync.plan.changelist.ChangeList` that keeps plain file changes as columns.
    """

    name: str
    remote: str
    provider: str
    kind: str
    base: str | None
    desired_digest: str
    changes: Sequence[Change] = ()
    remote_id: str | None = None
    branch: str = "main"
    manifest: str = ""
    warnings: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()
    noop_proven: bool = False
    tag: str | None = None
    stats: JSON = None
    kept: dict[str, int] = field(default_factory=dict)
    renames: JSON = None

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def where(self) -> str:
        """``tensorbay remote default, branch main, tag v1``; no branch for deepen."""
        parts = [f"{self.provider} remote {self.remote}"]
        if self.branch:
            parts.append(f"branch {self.branch}")
        if self.tag:
            parts.append(f"tag {self.tag}")
        return ", ".join(parts)

    def counts(self) -> Counter[str]:
        """Number of changes per action (``create``/``update``/``delete``/``replace``)."""
        fast = getattr(self.changes, "counts", None)  # a ChangeList counts from its columns
        if fast is not None:
            return fast()  # type: ignore[no-any-return,unused-ignore]
        return Counter(c.action.value for c in self.changes)

    def upload_bytes(self) -> int:
        fast = getattr(self.changes, "upload_bytes", None)
        if fast is not None:
            return fast()  # type: ignore[no-any-return,unused-ignore]
        return sum(c.upload_bytes for c in self.changes)


@dataclass(frozen=True, slots=True)
class Plan:
    """A whole plan: every dataset the manifests declare, in manifest order.

    ``root`` is the directory that ``source`` paths in file changes are relative to (the
    repository root), recorded as given when planning. ``source`` holds provenance:
    ``{"repository": ..., "commit": ...}`` when planning inside a git checkout.
    """

    datasets: tuple[DatasetPlan, ...]
    created_at: str = ""
    root: str = ""
    source: dict[str, str] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @property
    def has_changes(self) -> bool:
        return any(d.has_changes for d in self.datasets)

    @property
    def blocked(self) -> bool:
        return any(d.blocked for d in self.datasets)

    def counts(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for d in self.datasets:
            total.update(d.counts())
        return total

    def upload_bytes(self) -> int:
        return sum(d.upload_bytes() for d in self.datasets)

    def kept(self) -> Counter[str]:
        """Remote things kept because prune is off, summed over the datasets."""
        total: Counter[str] = Counter()
        for d in self.datasets:
            total.update(d.kept)
        return total

    def summary_line(self) -> str:
        """``Plan: 3 to create, 1 to update, 0 to delete, 0 to replace; 1.2 MiB to upload.``"""
        c = self.counts()
        if not self.has_changes:
            kept = self.kept()
            if any(kept.values()):
                return f"No changes to apply; kept (prune is off): {kept_text(kept)}."
            return "No changes. The remote matches the manifests."
        return (
            f"Plan: {c['create']} to create, {c['update']} to update, {c['delete']} to delete, "
            f"{c['replace']} to replace; {format_bytes(self.upload_bytes())} to upload."
        )


def kept_text(kept: Counter[str] | dict[str, int]) -> str:
    """``3 files, 1 segment`` (non-zero counts only, files first)."""
    parts = []
    for key in ("files", "segments", "sensors"):
        n = kept.get(key, 0)
        if n:
            parts.append(f"{n:,} {key[:-1] if n == 1 else key}")
    return ", ".join(parts)


def format_bytes(n: int) -> str:
    """Human size with binary units: ``0 B``, ``512 B``, ``1.5 KiB``, ``3.0 MiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
