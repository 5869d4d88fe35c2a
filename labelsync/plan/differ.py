"""The differ: desired state + live state -> the changes that turn live into desired.

Pure (values in, values out); the only module that uses deepdiff, and only to describe
what changed inside catalogs and other JSON documents. The rules:

* A live state whose recorded digest equals the desired digest is a proven no-op: no
  listing was needed and no change is planned (``noop_proven``).
* A missing dataset is created with everything in it.
* Catalog, notes and settings are compared as whole documents; a catalog change that
  removes or redefines categories, attributes or label types is *breaking* (existing labels
  may no longer fit) and says which.
* Segments, sensors and files the manifest does not list are deleted only when the
  dataset's policy has ``prune``; otherwise the plan warns that they are left alone and
  counts them in ``DatasetPlan.kept`` (drift that ``--detailed-exitcode`` reports).
* A file whose content differs is re-uploaded (``file`` update); a file whose content is
  the same but whose label, timestamp or frame differs is a ``label`` update and sends no
  bytes (labels compare as multisets per type: a reordered list is no change). Content the remote already has, or that the plan already uploads for another
  path, is counted once in ``upload_bytes``.
* A provider whose content cannot change in place (``Capabilities.content_mutable`` is
  False) cannot take new files or a new catalog: any change other than labels becomes one
  ``replace`` of the dataset, blocked unless the policy allows replace (and never allowed
  for a protected dataset).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Iterable, Iterator, Mapping
from typing import Any

from labelsync.columns import ItemTable
from labelsync.plan.catalogdiff import attribute_breaks
from labelsync.plan.changelist import ChangeList, FileRun
from labelsync.plan.labeldiff import labels_equal
from labelsync.plan.model import (
    Action,
    Change,
    DatasetPlan,
    FileChange,
    Kind,
    LabelState,
    MaskUpload,
    Replacement,
)
from labelsync.plan.rowdiff import LiveContent, Sent, merged_rows, resolved, table_changes
from labelsync.providers.contract import Capabilities
from labelsync.state import Desired, Item, Live, Segment

_MUTABLE = Capabilities()


def build_dataset_plan(
    desired: Desired, live: Live, *, root: str = "", capabilities: Capabilities = _MUTABLE
) -> DatasetPlan:
    """Plan one dataset. ``root`` is the directory that ``source`` paths are made relative to;
    ``capabilities`` are those of the dataset's provider (they decide replace versus update)."""
    ds = desired.dataset
    base = DatasetPlan(
        name=ds.name,
        remote=ds.remote,
        provider=ds.provider,
        kind=ds.kind,
        branch=ds.branch if capabilities.versioned else "",
        base=live.head,
        remote_id=live.remote_id,
        desired_digest=desired.digest,
        manifest=desired.manifest,
    )
    warnings: list[str] = []
    blocked: list[str] = list(live.refusals)
    if live.open_draft and not live.open_draft.get("ours"):
        warnings.append(
            f"branch '{ds.branch}' has an open draft #{live.open_draft.get('number')} "
            f"('{live.open_draft.get('title')}') that labelsync did not open; apply will refuse until it is "
            "committed or closed"
        )
    if live.recorded_digest is not None and live.recorded_digest == desired.digest:
        return _replace(base, noop_proven=True, warnings=tuple(warnings))
    if not live.complete or (live.dataset is None and live.head is not None):
        raise ValueError("live state must be complete unless its recorded digest matches")
    if not live.verified:
        warnings.append("the server did not report file checksums: file contents cannot be verified")

    kept: Counter[str] = Counter()
    changes = ChangeList(_diff(desired, live, root=root, warnings=warnings, kept=kept))
    if not capabilities.content_mutable and live.dataset is not None:
        changes = _collapse_to_replace(desired, live, changes, blocked, root)
    # replace and dataset changes are never in a compact run: ``small()`` holds them all
    if capabilities.content_mutable and any(c.action is Action.REPLACE for c in changes.small()):
        blocked.append(
            f"dataset '{ds.name}' changes type ({live.dataset.kind if live.dataset else '?'} -> {ds.kind}), which "
            f"{ds.provider} cannot do in place: give the dataset a new name, or delete the remote one first"
        )
    if desired.policy.protect and any(c.action in (Action.DELETE, Action.REPLACE) and c.kind is Kind.DATASET for c in changes.small()):
        blocked.append(f"dataset '{ds.name}' is protected (spec.protect: true): it cannot be deleted or replaced")
    return _replace(base, changes=changes, warnings=tuple(warnings), blocked=tuple(blocked), kept={k: n for k, n in kept.items() if n})


def _replace(plan: DatasetPlan, **fields: Any) -> DatasetPlan:
    from dataclasses import replace

    return replace(plan, **fields)


def _diff(desired: Desired, live: Live, *, root: str, warnings: list[str], kept: Counter[str]) -> Iterable[Change | FileRun]:
    ds = desired.dataset
    prefix = f"dataset.{ds.name}"
    remote = live.dataset
    known = LiveContent(())
    if remote is None:
        yield Change(Action.CREATE, Kind.DATASET, prefix, after={"kind": ds.kind, "settings": dict(ds.settings)})
    else:
        known = LiveContent(remote.segments.values())
        if remote.kind != ds.kind:
            yield Change(
                Action.REPLACE,
                Kind.DATASET,
                prefix,
                before={"kind": remote.kind},
                after={"kind": ds.kind},
                breaking=True,
                reason=f"dataset type changes from {remote.kind} to {ds.kind}, which needs a new dataset",
            )
        if dict(remote.settings) != dict(ds.settings):
            yield Change(Action.UPDATE, Kind.SETTINGS, f"{prefix}/settings", before=dict(remote.settings), after=dict(ds.settings))

    live_catalog = dict(remote.catalog) if remote else {}
    if dict(ds.catalog) != live_catalog:
        breaking, why = catalog_breaks(live_catalog, dict(ds.catalog))
        action = Action.CREATE if not live_catalog else Action.UPDATE
        yield Change(action, Kind.CATALOG, f"{prefix}/catalog", before=live_catalog or None, after=dict(ds.catalog), breaking=breaking, reason=why)
    live_notes = dict(remote.notes) if remote else {}
    if _notes(ds.notes) != _notes(live_notes):
        yield Change(Action.CREATE if remote is None else Action.UPDATE, Kind.NOTES, f"{prefix}/notes", before=_notes(live_notes), after=_notes(ds.notes))

    live_segments = remote.segments if remote else {}
    sent = Sent()
    for name, seg in ds.segments.items():
        yield from _diff_segment(prefix, seg, live_segments.get(name), desired, root, known, sent, warnings, kept)
    extra = [name for name in live_segments if name not in ds.segments]
    for name in sorted(extra):
        if desired.policy.prune:
            count = len(live_segments[name].items)
            yield Change(Action.DELETE, Kind.SEGMENT, f"{prefix}/segment.{name}", segment=name, before={"files": count}, breaking=True, reason=f"deletes segment '{name}' and its {count} files")
        else:
            kept["segments"] += 1
            kept["files"] += len(live_segments[name].items)
            warnings.append(f"remote segment '{name}' is not in the manifest; left alone (set spec.prune: true to delete it)")


def _diff_segment(
    prefix: str,
    seg: Segment,
    live: Segment | None,
    desired: Desired,
    root: str,
    known: LiveContent,
    sent: Sent,
    warnings: list[str],
    kept: Counter[str],
) -> Iterable[Change | FileRun]:
    addr = f"{prefix}/segment.{seg.name}"
    if live is None:
        yield Change(Action.CREATE, Kind.SEGMENT, addr, segment=seg.name, after={"description": seg.description})
        live = Segment(name=seg.name)
    for name, sensor in seg.sensors.items():
        old = live.sensors.get(name)
        if old is None:
            yield Change(Action.CREATE, Kind.SENSOR, f"{addr}/sensor.{name}", segment=seg.name, after=sensor)
        elif old != sensor:
            yield Change(Action.UPDATE, Kind.SENSOR, f"{addr}/sensor.{name}", segment=seg.name, before=old, after=sensor)
    extra_files: list[str] = []

    def change(path: str, want: Item, have: Item | None) -> Change | None:
        if have is not None and have.blob is not None and want.blob == have.blob:
            if _same_label_part(want, have):
                return None
            send = _to_send(want, known, sent, masks_only=True)
            return Change(
                Action.UPDATE,
                Kind.LABEL,
                f"{addr}/label.{path}",
                segment=seg.name,
                before=LabelState(have.label, have.timestamp, have.frame_id, have.sensor_name),
                after=_file_after(want, root, send),
                upload_bytes=sum(size for _, size in send),
            )
        send = _to_send(want, known, sent, masks_only=False)
        return Change(
            Action.CREATE if have is None else Action.UPDATE,
            Kind.FILE,
            f"{addr}/file.{path}",
            segment=seg.name,
            before=have,
            after=_file_after(want, root, send),
            upload_bytes=sum(size for _, size in send),
        )

    table, theirs = resolved(seg.items), resolved(live.items)
    if isinstance(table, ItemTable) and (isinstance(theirs, ItemTable) or not theirs):
        yield from table_changes(table, theirs if isinstance(theirs, ItemTable) else None, f"{addr}/file.", seg.name, root, known, sent, change, extra_files)
    else:
        for path, want, have in _pairs(table, theirs, extra_files):
            c = change(path, want, have)
            if c is not None:
                yield c
    extra_sensors = [s for s in live.sensors if s not in seg.sensors]
    if desired.policy.prune:
        for path in sorted(extra_files):
            yield Change(Action.DELETE, Kind.FILE, f"{addr}/file.{path}", segment=seg.name, before=live.items[path], breaking=True)
        for name in sorted(extra_sensors):
            yield Change(Action.DELETE, Kind.SENSOR, f"{addr}/sensor.{name}", segment=seg.name, before=live.sensors[name], breaking=True)
    else:
        kept["files"] += len(extra_files)
        kept["sensors"] += len(extra_sensors)
        if extra_files:
            warnings.append(
                f"segment '{seg.name}': {len(extra_files)} remote file(s) not in the manifest are left alone "
                "(set spec.prune: true to delete them)"
            )
        if extra_sensors:
            warnings.append(f"segment '{seg.name}': remote sensor(s) {', '.join(sorted(extra_sensors))} left alone (prune is off)")


def _pairs(
    items: Mapping[str, Item], live: Mapping[str, Item], extra: list[str]
) -> Iterator[tuple[str, Item, Item | None]]:
    """``(path, desired item, live item or None)`` in path order, for every desired path that
    may need a change; the live paths the desired side lacks are appended to ``extra``.

    Two :class:`~labelsync.columns.ItemTable` sides are merged row by row (both are sorted)
    and a row that is a bare path and blob on both sides with equal digests and sizes is
    skipped without building either item: an unchanged file costs no object.
    """
    if not (isinstance(items, ItemTable) and isinstance(live, ItemTable)):
        for path in sorted(items):
            yield path, items[path], live.get(path)
        extra.extend(sorted(p for p in live if p not in items))
        return
    for i, j in merged_rows(items, live, extra):
        yield items.paths[i], items.item(i), live.item(j) if j >= 0 else None


def _to_send(item: Item, known: Container[str], sent: Sent, *, masks_only: bool) -> list[tuple[str, int]]:
    """The blobs (checksum, size) of ``item`` this change must upload: not on the remote and
    not already sent by an earlier change of the plan (identical content is sent once)."""
    blobs = [] if masks_only or item.blob is None else [(item.blob.checksum, item.blob.size)]
    blobs += [(m.blob.checksum, m.blob.size) for _, m in sorted(item.masks.items())]
    out = []
    for checksum, size in blobs:
        if checksum in known or checksum in sent:
            continue
        sent.add(checksum)
        out.append((checksum, size))
    return out


def _same_label_part(want: Item, have: Item) -> bool:
    """Same labels (in any order within a label type), timestamp, frame and sensor."""
    return labels_equal(want.label, have.label) and _label_part(want) == _label_part(have)


def _label_part(item: Item) -> tuple[Any, ...]:
    """The label part of an item other than the labels themselves."""
    return (item.timestamp, item.frame_id, item.sensor_name)


def _file_after(item: Item, root: str, send: list[tuple[str, int]]) -> FileChange:
    assert item.blob is not None  # desired items always have their content identity
    masks = tuple(MaskUpload(kind, m.blob, _relative(m.source, root)) for kind, m in sorted(item.masks.items())) if item.masks else ()
    return FileChange(
        remote_path=item.remote_path,
        blob=item.blob,
        label=item.label,
        timestamp=item.timestamp,
        frame_id=item.frame_id,
        sensor_name=item.sensor_name,
        source=_relative(item.source, root),
        masks=masks,
        send=tuple(checksum for checksum, _ in send),
    )


def _relative(path: str | None, root: str) -> str | None:
    if path is None or not root:
        return path
    prefix = root.rstrip("/") + "/"
    return path[len(prefix):] if path.startswith(prefix) else path


def _notes(notes: Mapping[str, Any]) -> dict[str, Any]:
    """Notes with TensorBay's defaults filled in, so absent and default compare equal."""
    return {"isContinuous": bool(notes.get("isContinuous", False)), "binPointCloudFields": notes.get("binPointCloudFields")}


def catalog_breaks(before: dict[str, Any], after: dict[str, Any]) -> tuple[bool, str | None]:
    """Whether changing the catalog ``before`` -> ``after`` can invalidate existing labels.

    Breaking: a label type removed; a category or attribute removed; an attribute's type or
    items changed, enum values removed, its range narrowed (``catalogdiff.attribute_breaks``);
    keypoint definitions changed. Adding types, categories, attributes or enum values, and
    widening a range, is not breaking. Returns ``(breaking, one-line reason)``.
    """
    if not before:
        return False, None
    from deepdiff import DeepDiff  # imported here: a no-op plan never needs it

    reasons: list[str] = []
    for type_name in sorted(before):
        if type_name not in after:
            reasons.append(f"label type {type_name} removed")
            continue
        old, new = before[type_name] or {}, after[type_name] or {}
        old_cats = {c["name"] for c in old.get("categories", [])}
        new_cats = {c["name"] for c in new.get("categories", [])}
        for cat in sorted(old_cats - new_cats):
            reasons.append(f"{type_name} category '{cat}' removed")
        old_attrs = {a["name"]: a for a in old.get("attributes", [])}
        new_attrs = {a["name"]: a for a in new.get("attributes", [])}
        for name, attr in sorted(old_attrs.items()):
            if name not in new_attrs:
                reasons.append(f"{type_name} attribute '{name}' removed")
                continue
            diff = DeepDiff(
                {k: v for k, v in attr.items() if k != "description"},
                {k: v for k, v in new_attrs[name].items() if k != "description"},
                ignore_order=True,
            )
            if diff and attribute_breaks(type_name, attr, new_attrs[name]):
                reasons.append(f"{type_name} attribute '{name}' redefined")
        if old.get("keypoints") and DeepDiff(old.get("keypoints"), new.get("keypoints"), ignore_order=False):
            reasons.append(f"{type_name} keypoints redefined")
    if not reasons:
        return False, None
    return True, "; ".join(reasons)


def _collapse_to_replace(desired: Desired, live: Live, changes: ChangeList, blocked: list[str], root: str) -> ChangeList:
    """Content that cannot change in place: everything but label changes needs the dataset
    deleted and created again.

    The replace carries everything the new dataset is made of (settings, catalog, every
    item with its source), so a saved plan can be applied without the manifests.
    """
    structural = [c for c in changes if c.kind is not Kind.LABEL]
    if not structural:
        return changes
    ds = desired.dataset
    what = sorted({c.kind.value for c in structural})
    reason = (
        f"a {ds.provider} dataset cannot take new files or a new profile after creation "
        f"({', '.join(what)} changed): it must be deleted and created again, losing its labelling progress"
    )
    if not desired.policy.allow_replace:
        blocked.append(f"dataset '{ds.name}' needs replace: {reason}; set spec.allowReplace: true to allow it")
    nbytes = sum(c.upload_bytes for c in changes)
    items = tuple(_file_after(i, root, []) for seg in ds.segments.values() for _, i in sorted(seg.items.items()))
    return ChangeList([
        Change(
            Action.REPLACE,
            Kind.DATASET,
            f"dataset.{ds.name}",
            before={"remote_id": live.remote_id, "head": live.head},
            after=Replacement(kind=ds.kind, changed=tuple(what), settings=dict(ds.settings), catalog=dict(ds.catalog), items=items),
            upload_bytes=nbytes,
            breaking=True,
            reason=reason,
        )
    ])
