"""Merging the remote's labels into a segment's label file (``labelsync pull``).

The contract, per segment:

* An item whose remote label equals the label the repository already sends (masks compared
  by content) keeps its local line untouched, ``{}`` lines included. When no item changed,
  the label file is not written at all: pull is a byte-for-byte no-op.
* An item whose remote label differs gets the remote label in the local format. Mask
  entries become ``{"path", "info"?}``: the path the local line already names for that
  mask, else ``masks/<type>/<remotePath>.png`` next to the label file; the mask bytes are
  downloaded and written there (atomically) when the local file differs.
* A remote item without a label removes the local line. Local lines of items the remote
  does not hold stay. Remote labels of files the local data selection does not yield are
  not written (the file would not validate); they are counted in
  :attr:`SegmentPull.skipped`.
* A remote path that is not a safe relative path refuses the whole pull
  (:class:`~labelsync.errors.RemoteError`), as does a mask whose bytes do not match the
  checksum the remote gave.

:func:`write_pull` writes one merge: masks first, then the label file, which is checked
against the catalog (:func:`~labelsync.local.labelcheck.check_labels`) before it replaces
the old one; if it does not validate, nothing stays changed.

A segment whose labels are in another format (``labels: {format: coco, ...}``) is merged by
:func:`merge_foreign` the same way, item by item, into the labels as read
(:class:`~labelsync.local.labelsets.LabelSet`); an item the remote no longer labels gets
``{}``. :func:`write_foreign` checks the merged labels against the catalog in memory and
then rewrites the files in the same format (:func:`~labelsync.local.labelwrite.write_labels_as`),
which keeps every unchanged label's bytes; with no changed item nothing is written. Masks
cannot be held by these formats: a remote mask label refuses the pull.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from labelsync.errors import LocalDataError, RemoteError
from labelsync.local.labels import LabelRecord, dump_labels, read_labels, remote_path_problem, replace_bytes
from labelsync.local.labelsets import LabelSet
from labelsync.local.paths import resolve_inside
from labelsync.state import Item, RemoteMask


@dataclass
class SegmentPull:
    """The outcome of :func:`merge_labels` for one label file."""

    path: Path
    records: dict[str, LabelRecord]
    changed: bool = False
    masks: dict[Path, bytes] = field(default_factory=dict)
    skipped: int = 0


def _keeps_info(mask_type: str, info: Any) -> bool:
    return info is not None and (bool(info) or mask_type == "PANOPTIC_MASK")


def sent_form(label: Mapping[str, Any]) -> dict[str, Any] | None:
    """The remote ``label`` in the form desired labels hold (masks as ``{checksum, fileSize,
    info?}``), or ``None`` when a mask's content is unknown (it must be downloaded)."""
    out: dict[str, Any] = {}
    for key, value in label.items():
        if isinstance(value, RemoteMask):
            if value.blob is None:
                return None
            entry: dict[str, Any] = {"checksum": value.blob.checksum, "fileSize": value.blob.size}
            if _keeps_info(key, value.info):
                entry["info"] = value.info
            out[key] = entry
        else:
            out[key] = value
    return out


def merge_labels(
    path: Path,
    remote: Mapping[str, Mapping[str, Any]],
    items: Mapping[str, Item],
    root: Path,
    *,
    where: str,
) -> SegmentPull:
    """Merge ``remote`` (remote path -> label, masks as :class:`RemoteMask`) into the label
    file at ``path``, given the segment's desired ``items``; nothing is written here.

    ``where`` names the dataset and segment in errors. Raises :class:`RemoteError` for an
    unsafe remote path or a mask download that does not match its checksum, and
    :class:`LocalDataError` for a local file that does not parse.
    """
    local = read_labels(path) if path.exists() else {}
    out = SegmentPull(path=path, records=dict(local))
    for remote_path, label, item in _changed(remote, items, out, where):
        record = local.get(remote_path)
        new = _local_form(label, record, item, path, root, out.masks, where=where)
        if new:
            out.records[remote_path] = LabelRecord(remote_path, new, record.timestamp if record else None)
        elif record is not None:
            del out.records[remote_path]
        out.changed = out.changed or (new != record.label if record is not None else bool(new))
    out.changed = out.changed or bool(out.masks)  # a mask's bytes changed under the same path
    return out


def _local_form(
    label: Mapping[str, Any],
    record: LabelRecord | None,
    item: Item,
    path: Path,
    root: Path,
    masks: dict[Path, bytes],
    *,
    where: str,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in label.items():
        if not isinstance(value, RemoteMask):
            out[key] = value
            continue
        old = record.label.get(key) if record is not None else None
        rel = old["path"] if isinstance(old, dict) and isinstance(old.get("path"), str) else default_mask_path(key, item.remote_path)
        target = resolve_inside(root, path.parent, rel)
        current = item.masks.get(key)
        same = value.blob is not None and current is not None and current.blob == value.blob and current.source is not None and Path(current.source) == target
        if not same:
            data = value.fetch()
            if value.blob is not None and (hashlib.sha1(data).hexdigest() != value.blob.checksum or len(data) != value.blob.size):
                raise RemoteError(
                    f"{where}: the {key} of {item.remote_path!r} downloaded does not match the checksum the remote gave",
                    hint="nothing was pulled; run pull again",
                )
            try:
                unchanged = target.read_bytes() == data
            except OSError:
                unchanged = False
            if not unchanged:
                masks[target] = data
        entry: dict[str, Any] = {"path": rel}
        if _keeps_info(key, value.info):
            entry["info"] = value.info
        out[key] = entry
    return out


def default_mask_path(mask_type: str, remote_path: str) -> str:
    """Where a pulled mask goes when the local line names none (relative to the label file)."""
    return f"masks/{mask_type.lower()}/{PurePosixPath(remote_path).with_suffix('.png')}"


def write_pull(pull: SegmentPull, check: Callable[[Path], list[Any]]) -> None:
    """Write ``pull``'s masks, then its label file, if anything changed.

    ``check(label_file)`` returns the validation problems of a label file (the caller binds
    the catalog and the data paths); the new file replaces the old one only when it has
    none. On any failure the masks written are put back as they were.
    """
    if not pull.changed:
        return
    before: dict[Path, bytes | None] = {}
    try:
        for target, data in pull.masks.items():
            try:
                before[target] = target.read_bytes()
            except FileNotFoundError:
                before[target] = None
            target.parent.mkdir(parents=True, exist_ok=True)
            replace_bytes(target, data)
        pull.path.parent.mkdir(parents=True, exist_ok=True)
        replace_bytes(pull.path, dump_labels(pull.records).encode("utf-8"), check=check)
    except BaseException:
        for target, old in before.items():
            try:
                if old is None:
                    target.unlink(missing_ok=True)
                else:
                    replace_bytes(target, old)
            except (OSError, LocalDataError):
                pass
        raise


@dataclass
class ForeignPull:
    """The outcome of :func:`merge_foreign` for one segment whose labels are in a foreign format."""

    labels: LabelSet
    merged: dict[str, dict[str, Any]]
    changed: bool = False
    skipped: int = 0

    @property
    def path(self) -> Path:
        return self.labels.path


def merge_foreign(
    labels: LabelSet, remote: Mapping[str, Mapping[str, Any]], items: Mapping[str, Item], *, where: str
) -> ForeignPull:
    """Merge ``remote`` into ``labels`` (read in their format); nothing is written here.

    Raises :class:`RemoteError` for an unsafe remote path and :class:`LocalDataError` for a
    mask label, which the format cannot hold."""
    out = ForeignPull(labels, {rp: r.label for rp, r in labels.records.items()})
    for remote_path, label, _item in _changed(remote, items, out, where):
        masks = [k for k, v in label.items() if isinstance(v, RemoteMask)]
        if masks:
            raise LocalDataError(
                f"{where}: the remote labels {remote_path!r} with {masks[0]}, which format {labels.format} cannot hold",
                hint="nothing was pulled; declare this segment's labels in format tensorbay to pull masks",
            )
        new = dict(label)
        if new != out.merged.get(remote_path, {}):
            out.merged[remote_path] = new
            out.changed = True
    return out


def write_foreign(
    pull: ForeignPull, catalog: Mapping[str, Any], known: set[str], root: Path, *,
    data_dir: Path | None, options: Mapping[str, Path],
) -> list[Path]:
    """Write ``pull`` in its format if anything changed; return the files whose bytes changed.

    The merged labels are checked against ``catalog`` first; a problem raises
    :class:`LocalDataError` and nothing is written."""
    if not pull.changed:
        return []
    from labelsync.local.labelcheck import check_label_set
    from labelsync.local.labelwrite import write_labels_as

    merged = LabelSet(pull.labels.format, pull.labels.path, pull.labels.display,
                      records={rp: LabelRecord(rp, label) for rp, label in pull.merged.items()})
    problems = [d for d in check_label_set(merged, catalog, known, root=root) if d.severity == "error"]
    if problems:
        first = problems[0]
        raise LocalDataError(
            f"the pulled labels of {pull.labels.display} do not validate: {first.message}",
            hint="nothing was written; " + (first.hint or "fix the catalog or the remote labels"),
        )
    return write_labels_as(pull.labels.format, pull.path, pull.merged, data_dir=data_dir, options=options,
                           catalog=catalog)


__all__ = ["ForeignPull", "SegmentPull", "default_mask_path", "merge_foreign", "merge_labels", "sent_form",
           "write_foreign", "write_pull"]


def _changed(remote: Mapping[str, Any], items: Mapping[str, Any], out: Any, where: str) -> Iterator[tuple[str, Any, Any]]:
    """``(remote path, remote label, local item)`` of each remote label that differs from the
    local one, in path order. An unsafe remote path refuses the whole pull; a label of a file
    the manifest does not hold is counted in ``out.skipped``."""
    for remote_path in sorted(remote):
        label = remote[remote_path]
        if remote_path_problem(remote_path) is not None:
            raise RemoteError(
                f"{where}: the remote holds an item at {remote_path!r}, which is not a safe relative path",
                hint="nothing was pulled; fix or remove that item on the remote",
            )
        item = items.get(remote_path)
        if item is None:
            out.skipped += 1 if label else 0
            continue
        if sent_form(label) != item.label:
            yield remote_path, label, item
