"""Plan <-> versioned JSON: the machine contract written by ``plan -o`` and ``--format json``.

The document is ``{"format_version": 1, "created_at", "root", "source", "summary",
"datasets": [...]}``; every dataset entry carries its changes. Readers refuse other
format versions with a clear error. Key order is stable so saved plans diff cleanly.

This is the only place where the typed values of file, label and replace changes
(:class:`FileChange`, :class:`LabelState`, :class:`Replacement`, live items) meet JSON. A
file's JSON is its item fingerprint plus ``source``, ``send`` and ``masks``
(``{kind: {"checksum", "fileSize", "source"}}``); a label change's ``before`` is
``{"label", "timestamp", "frameId", "sensorName"}``; a replace's ``after`` is ``{"kind",
"files", "changed", "settings", "catalog", "items": [file...]}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from labelsync.errors import PlanError
from labelsync.plan.changelist import ChangeList, compact
from labelsync.plan.model import (
    FORMAT_VERSION,
    Action,
    Change,
    DatasetPlan,
    FileChange,
    Kind,
    LabelState,
    MaskUpload,
    Plan,
    Replacement,
)
from labelsync.state import Blob, Item, item_fingerprint


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The JSON document of ``plan`` (plain dicts and lists)."""
    return {
        "format_version": plan.format_version,
        "created_at": plan.created_at,
        "root": plan.root,
        "source": dict(plan.source),
        "summary": _summary(plan),
        "datasets": [_dataset_to_dict(d) for d in plan.datasets],
    }


def _dataset_to_dict(d: DatasetPlan) -> dict[str, Any]:
    return {
        "name": d.name,
        "remote": d.remote,
        "provider": d.provider,
        "kind": d.kind,
        "branch": d.branch,
        "tag": d.tag,
        "manifest": d.manifest,
        "remote_id": d.remote_id,
        "base": d.base,
        "desired_digest": d.desired_digest,
        "noop_proven": d.noop_proven,
        "warnings": list(d.warnings),
        "blocked": list(d.blocked),
        **({"kept": dict(d.kept)} if d.kept else {}),
        **({"stats": d.stats} if d.stats is not None else {}),
        **({"renames": d.renames} if d.renames else {}),
        "changes": [change_to_dict(c) for c in d.changes],
    }


def change_to_dict(c: Change) -> dict[str, Any]:
    """The JSON object of one change, as saved."""
    out: dict[str, Any] = {
        "action": c.action.value,
        "kind": c.kind.value,
        "address": c.address,
        "segment": c.segment,
        "before": _value_to_json(c.before),
        "after": _value_to_json(c.after),
        "upload_bytes": c.upload_bytes,
    }
    if c.breaking:
        out["breaking"] = True
    if c.reason:
        out["reason"] = c.reason
    return out


def plan_from_dict(doc: Any, *, origin: str = "plan") -> Plan:
    """Rebuild a :class:`Plan` from its JSON document.

    Raises :class:`PlanError` naming ``origin`` when the document is not a labelsync plan of
    a supported format version.
    """
    if not isinstance(doc, dict) or "datasets" not in doc:
        raise PlanError(f"{origin}: not a labelsync plan file", hint="create one with `labelsync plan -o FILE`")
    version = _check_version(doc, origin)
    try:
        datasets = tuple(_dataset_from_dict(d) for d in doc["datasets"])
        return Plan(
            datasets=datasets,
            created_at=str(doc.get("created_at", "")),
            root=str(doc.get("root", "")),
            source=dict(doc.get("source") or {}),
            format_version=version,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanError(f"{origin}: malformed plan file ({exc.__class__.__name__}: {exc})") from exc


def _check_version(doc: dict[str, Any], origin: str) -> int:
    """The plan's format version; :class:`PlanError` when it is not the one this labelsync
    reads (a plan made by another version)."""
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise PlanError(
            f"{origin}: plan format_version {version!r} is not supported (this labelsync reads {FORMAT_VERSION})",
            hint="re-create the plan with this version of labelsync",
        )
    return FORMAT_VERSION


class LayoutMismatch(Exception):
    """The text is not laid out as :func:`iter_plan_json` writes it (it may still be valid
    JSON: read it whole with :func:`loads_plan`)."""


def plan_from_lines(lines: Iterable[str], *, origin: str = "plan") -> Plan:
    """Read a plan as :func:`iter_plan_json` wrote it, line by line: each change becomes a
    :class:`Change` as its line is read, so neither the text nor a dict of the document is
    held whole, and plain file creates/updates are kept as columns
    (:func:`labelsync.plan.changelist.compact`: the same changes, field by field, at about a
    fifth of the memory). The same checks as :func:`plan_from_dict` (format version first).

    Raises :class:`LayoutMismatch` when the text is laid out otherwise (then read it with
    :func:`loads_plan`), :class:`PlanError` when it is laid out so but is not a valid plan.
    """
    it = iter(lines)
    if next(it, None) != "{\n":
        raise LayoutMismatch
    head: dict[str, Any] = {}
    datasets: list[DatasetPlan] = []
    try:
        for line in it:
            if line == ' "datasets": [\n':
                break
            if not (line.startswith(' "') and line.endswith(",\n")):
                raise LayoutMismatch
            head.update(json.loads("{" + line[:-2] + "}"))
            if len(head) == 1:
                _check_version(head, origin)  # a plan of another version is refused before more is read
        else:
            raise LayoutMismatch
        _check_version(head, origin)
        for line in it:
            if line == " ]\n":
                break
            closed = line.endswith(',"changes": []}\n') or line.endswith(',"changes": []},\n')
            if not line.startswith("  {") or not (closed or line.endswith(',"changes": [\n')):
                raise LayoutMismatch
            fields = json.loads(line[2 : line.rindex(',"changes": [')] + "}")
            changes = ChangeList(compact(_change_lines(it))) if not closed else ChangeList(())
            datasets.append(_replace(_dataset_from_dict({**fields, "changes": ()}), changes=changes))
        else:
            raise LayoutMismatch
        if next(it, None) != "}\n" or next(it, None) is not None:
            raise LayoutMismatch
        return Plan(
            datasets=tuple(datasets),
            created_at=str(head.get("created_at", "")),
            root=str(head.get("root", "")),
            source=dict(head.get("source") or {}),
            format_version=FORMAT_VERSION,
        )
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise LayoutMismatch from exc
        raise PlanError(f"{origin}: malformed plan file ({exc.__class__.__name__}: {exc})") from exc
    except (KeyError, TypeError, AttributeError) as exc:
        raise PlanError(f"{origin}: malformed plan file ({exc.__class__.__name__}: {exc})") from exc


def _change_lines(it: Iterator[str]) -> Iterator[Change]:
    """The changes of one dataset entry, a line each, up to its closing line."""
    for change_line in it:
        if change_line in ("  ]}\n", "  ]},\n"):
            return
        if not change_line.startswith("   {"):
            raise LayoutMismatch
        yield _change_from_dict(json.loads(change_line.rstrip().rstrip(",")))
    raise LayoutMismatch


def _replace(dataset: DatasetPlan, **fields: Any) -> DatasetPlan:
    from dataclasses import replace

    return replace(dataset, **fields)


def _dataset_from_dict(d: dict[str, Any]) -> DatasetPlan:
    return DatasetPlan(
        name=d["name"],
        remote=d["remote"],
        provider=d["provider"],
        kind=d["kind"],
        branch=d.get("branch", "main"),
        manifest=d.get("manifest", ""),
        remote_id=d.get("remote_id"),
        base=d.get("base"),
        desired_digest=d["desired_digest"],
        noop_proven=bool(d.get("noop_proven", False)),
        tag=_tag(d.get("tag")),
        warnings=tuple(d.get("warnings", ())),
        blocked=tuple(d.get("blocked", ())),
        stats=d.get("stats") if isinstance(d.get("stats"), dict) else None,
        renames=d.get("renames") if isinstance(d.get("renames"), dict) else None,
        kept={str(k): int(v) for k, v in (d.get("kept") or {}).items()},
        changes=tuple(_change_from_dict(c) for c in d["changes"]),
    )


def _tag(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value):
        return value
    raise ValueError(f"tag {value!r} is not a non-empty string")


def _change_from_dict(c: dict[str, Any]) -> Change:
    action, kind = Action(c["action"]), Kind(c["kind"])
    before, after = c.get("before"), c.get("after")
    if kind in (Kind.FILE, Kind.LABEL):
        after = None if after is None else file_from_json(after)
        if kind is Kind.LABEL and before is not None:
            before = LabelState(before.get("label") or {}, before.get("timestamp"), before.get("frameId"), before.get("sensorName"))
        elif before is not None:
            before = _item_from_json(before)
    elif kind is Kind.DATASET and action is Action.REPLACE and isinstance(after, dict) and "items" in after:
        after = Replacement(
            kind=str(after["kind"]),
            changed=tuple(after.get("changed") or ()),
            settings=dict(after.get("settings") or {}),
            catalog=dict(after.get("catalog") or {}),
            items=tuple(file_from_json(i) for i in after["items"]),
        )
    return Change(
        action=action,
        kind=kind,
        address=c["address"],
        segment=c.get("segment"),
        before=before,
        after=after,
        upload_bytes=int(c.get("upload_bytes", 0)),
        breaking=bool(c.get("breaking", False)),
        reason=c.get("reason"),
    )


def _value_to_json(value: Any) -> Any:
    if isinstance(value, FileChange):
        return file_to_json(value)
    if isinstance(value, Item):
        return item_fingerprint(value)
    if isinstance(value, LabelState):
        return {"label": value.label, "timestamp": value.timestamp, "frameId": value.frame_id, "sensorName": value.sensor_name}
    if isinstance(value, Replacement):
        return {
            "kind": value.kind, "files": value.files, "changed": list(value.changed), "settings": dict(value.settings),
            "catalog": dict(value.catalog), "items": [file_to_json(i) for i in value.items],
        }
    return value


def file_to_json(f: FileChange) -> dict[str, Any]:
    """The saved JSON of a file (its fingerprint, ``source``, ``send`` and ``masks``)."""
    out = f.fingerprint()
    out["source"] = f.source
    out["send"] = list(f.send)
    if f.masks:
        out["masks"] = {m.kind: {"checksum": m.blob.checksum, "fileSize": m.blob.size, "source": m.source} for m in f.masks}
    return out


def file_from_json(d: dict[str, Any]) -> FileChange:
    """The :class:`FileChange` of a saved file (``KeyError``/``TypeError`` when malformed)."""
    masks = tuple(
        MaskUpload(kind, Blob(str(m["checksum"]), int(m["fileSize"])), m.get("source"))
        for kind, m in sorted((d.get("masks") or {}).items())
    )
    return FileChange(
        remote_path=str(d["remotePath"]),
        blob=Blob(str(d["checksum"]), int(d["fileSize"])),
        label=d.get("label") or {},
        timestamp=d.get("timestamp"),
        frame_id=d.get("frameId"),
        sensor_name=d.get("sensorName"),
        source=d.get("source"),
        masks=masks,
        send=tuple(str(s) for s in d.get("send") or ()),
    )


def _item_from_json(d: dict[str, Any]) -> Item:
    checksum, size = d.get("checksum"), d.get("fileSize")
    blob = Blob(str(checksum), int(size)) if checksum is not None and size is not None else None
    return Item(
        remote_path=str(d["remotePath"]), blob=blob, label=d.get("label") or {}, timestamp=d.get("timestamp"),
        frame_id=d.get("frameId"), sensor_name=d.get("sensorName"),
    )


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ": "))


def dumps_plan(plan: Plan) -> str:
    """The plan as JSON text: stable key order, one change per line, trailing newline.

    One line per change keeps saved plans readable in a diff and lets the C encoder do the
    work (an indented ``json.dumps`` falls back to the pure-Python encoder, which needs
    several times the memory on a plan of 100,000 files). See :func:`iter_plan_json` to
    write it without holding the text.
    """
    return "".join(iter_plan_json(plan))


def iter_plan_json(plan: Plan) -> Iterator[str]:
    """The text of :func:`dumps_plan` in pieces (a line each): write them to a file as they
    come (``fh.writelines(iter_plan_json(plan))``) and no copy of the plan, as dicts or as
    text, is ever held; each change is encoded as it is reached."""
    doc = plan_to_dict(_without_changes(plan))
    doc["summary"] = _summary(plan)
    del doc["datasets"]
    yield "{\n"
    for key, value in doc.items():
        yield f" {_ENCODER.encode(key)}: {_ENCODER.encode(value)},\n"
    yield ' "datasets": [\n'
    for i, dataset in enumerate(plan.datasets):
        fields = _dataset_to_dict(_replace_changes(dataset))
        del fields["changes"]
        head = _ENCODER.encode(fields)[:-1]  # without the closing brace
        tail = "}" + ("," if i < len(plan.datasets) - 1 else "") + "\n"
        if not dataset.changes:
            yield f'  {head},"changes": []{tail}'
            continue
        yield f'  {head},"changes": [\n'
        last = len(dataset.changes) - 1
        for k, change in enumerate(dataset.changes):
            yield "   " + _ENCODER.encode(change_to_dict(change)) + (",\n" if k < last else "\n")
        yield "  ]" + tail
    yield " ]\n}\n"


def _replace_changes(dataset: DatasetPlan) -> DatasetPlan:
    from dataclasses import replace

    return replace(dataset, changes=())


def _without_changes(plan: Plan) -> Plan:
    return Plan(datasets=(), created_at=plan.created_at, root=plan.root, source=plan.source)


def _summary(plan: Plan) -> dict[str, Any]:
    counts = plan.counts()
    return {
        "has_changes": plan.has_changes,
        "create": counts["create"],
        "update": counts["update"],
        "delete": counts["delete"],
        "replace": counts["replace"],
        "upload_bytes": plan.upload_bytes(),
        "blocked": plan.blocked,
        **({"kept": dict(kept)} if any((kept := plan.kept()).values()) else {}),
    }


def loads_plan(text: str, *, origin: str = "plan") -> Plan:
    """Parse plan JSON text; :class:`PlanError` on anything that is not a valid plan."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise PlanError(f"{origin}: not valid JSON ({exc})", hint="pass a file written by `labelsync plan -o`") from exc
    return plan_from_dict(doc, origin=origin)
