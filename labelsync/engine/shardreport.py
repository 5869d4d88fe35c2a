"""Shard reports: what each shard wrote, and the desired state the finish computes from them.

A shard writes ``shard-IIII-of-NNNN.json`` into the report directory as its very last
step, atomically (a temporary file, then a rename): a report exists only for a shard that
completed. It lists, per segment, every desired item of the shard's share as
``[remote path, checksum, size, label, timestamp, frame id, sensor name]`` (the item's
fingerprint: masks are inside the label as checksum and size), plus the run id of the
``shards.json`` it ran for. ``--finish`` reads the reports of its run only, so reports
left over from an earlier sharded apply are never counted. Before its first write a shard
leaves a start marker there (:func:`mark_started`), so that a re-run knows it is one.

:func:`desired_dataset` rebuilds the desired :class:`~labelsync.state.Dataset` from the
spec's metadata and the reports (no data file is read); its
:func:`~labelsync.state.dataset_digest` is the digest a plain apply would record.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from labelsync.engine.shardspec import ShardSpec
from labelsync.errors import UsageError
from labelsync.state import Blob, Dataset, Item, Segment

PAUSE_FILE = ".retry-after"
"""The shared pause file of the rate budget (:mod:`labelsync.providers.budget`), in the report directory."""


def report_name(index: int, shards: int) -> str:
    return f"shard-{index:04d}-of-{shards:04d}.json"


def mark_started(directory: Path, spec: ShardSpec, index: int) -> bool:
    """Record in ``directory`` that shard ``index`` of ``spec``'s run starts writing (the
    hidden file ``.shard-IIII-of-NNNN.started`` holding the run id); True when it had
    started before (a re-run: it then lists what the lock's work holds, to skip it).
    :class:`UsageError` when the directory is not writable (before anything is written)."""
    path = directory / f".{report_name(index, spec.shards)[: -len('.json')]}.started"
    try:
        before = path.read_text(encoding="utf-8").strip() == spec.run
    except FileNotFoundError:
        before = False
    except (OSError, UnicodeDecodeError):
        before = True  # unreadable: assume the worst (a re-run lists; a first run would not need to)
    if not before:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path.write_text(spec.run + "\n", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write in the report directory {directory}: {exc.strerror or exc}", hint="pass a writable --report-dir") from exc
    return before


def item_row(item: Item) -> list[Any]:
    blob = item.blob
    return [
        item.remote_path, blob.checksum if blob else None, blob.size if blob else None, item.label or {},
        item.timestamp, item.frame_id, item.sensor_name,
    ]


def row_item(row: list[Any]) -> Item:
    path, checksum, size, label, timestamp, frame_id, sensor = row
    return Item(str(path), Blob(str(checksum), int(size)), label or {}, timestamp, frame_id, sensor)


def write_report(directory: Path, spec: ShardSpec, index: int, items: Mapping[str, Mapping[str, Item]], stats: Mapping[str, int]) -> Path:
    """Write shard ``index``'s report atomically; returns its path."""
    body = {
        "run": spec.run,
        "shard": index,
        "shards": spec.shards,
        "dataset": spec.dataset,
        "stats": dict(stats),
        "segments": {seg: [item_row(items[seg][p]) for p in sorted(items[seg])] for seg in sorted(items)},
    }
    path = directory / report_name(index, spec.shards)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    except OSError as exc:
        raise UsageError(f"cannot write the shard report in {directory}: {exc.strerror or exc}", hint="pass a writable --report-dir") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh, separators=(",", ":"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_reports(directory: Path, spec: ShardSpec) -> tuple[dict[int, dict[str, Any]], list[int]]:
    """``(reports by shard number, missing shard numbers)`` of ``spec``'s run in ``directory``."""
    found: dict[int, dict[str, Any]] = {}
    for index in range(1, spec.shards + 1):
        path = directory / report_name(index, spec.shards)
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path}: unreadable shard report ({exc})", hint=f"delete it and re-run shard {index}/{spec.shards}") from exc
        if isinstance(body, dict) and body.get("run") == spec.run and body.get("shard") == index:
            found[index] = body
    return found, [i for i in range(1, spec.shards + 1) if i not in found]


def reported_items(reports: Mapping[int, Mapping[str, Any]]) -> dict[str, dict[str, Item]]:
    """Every reported item per segment per remote path."""
    out: dict[str, dict[str, Item]] = {}
    for report in reports.values():
        for seg, rows in report.get("segments", {}).items():
            target = out.setdefault(seg, {})
            for row in rows:
                item = row_item(row)
                target[item.remote_path] = item
    return out


def desired_dataset(spec: ShardSpec, items: Mapping[str, Mapping[str, Item]]) -> Dataset:
    """The desired dataset: the spec's metadata with the reported items."""
    d = spec.desired
    segments = {
        name: Segment(name=name, sensors=seg.get("sensors", {}), items=dict(items.get(name, {})), description=seg.get("description", ""))
        for name, seg in d["segments"].items()
    }
    return Dataset(
        name=d["name"], provider=d["provider"], kind=d["kind"], remote=d["remote"], branch=d["branch"],
        settings=d["settings"], notes=d["notes"], catalog=d["catalog"], segments=segments,
    )


def metadata_json(dataset: Dataset, prune: bool) -> dict[str, Any]:
    """The ``desired`` block of a spec: ``dataset`` without its items."""
    return {
        "name": dataset.name, "provider": dataset.provider, "kind": dataset.kind, "remote": dataset.remote,
        "branch": dataset.branch, "settings": dict(dataset.settings), "notes": dict(dataset.notes),
        "catalog": dict(dataset.catalog), "prune": prune,
        "segments": {n: {"sensors": dict(s.sensors), "description": s.description} for n, s in dataset.segments.items()},
    }
