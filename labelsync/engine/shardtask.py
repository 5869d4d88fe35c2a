"""The sharded apply's steps as plain functions of files: what the CLI and executors call.

:func:`shard_task` is the entry point one shard runs (a ``--shard I/N`` process, a local
executor's worker process, a Dask task): it reads ``shards.json`` and its section of the
share file next to it (:mod:`labelsync.engine.shardlive`), loads the manifests, hashes only
its share of the files, writes it and returns a JSON-able summary. It never
raises to the executor: failures come back as ``{"ok": False, "error", "hint"}`` so that
they cross process boundaries as one line.

:func:`load_unhashed` resolves manifests without reading any data file (checksums left
empty): ``--prepare`` needs only the metadata, and a shard hashes its share afterwards
(:func:`hash_share`).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from labelsync.engine import shards
from labelsync.engine.connect import Connections
from labelsync.engine.events import NullEvents
from labelsync.engine.shardlive import read_share
from labelsync.engine.shardreport import PAUSE_FILE
from labelsync.engine.shardspec import ShardSpec, read_spec
from labelsync.errors import LabelsyncError, UsageError
from labelsync.local.scan import LocalFile, stat_file
from labelsync.providers import budget
from labelsync.providers.session import DEFAULT_JOBS, ApplyEvents, ApplyOptions
from labelsync.state import Blob, Desired, Item, MaskFile


class _Unread:
    """A hash cache that reads nothing: every checksum empty (sizes from ``stat``)."""

    def recall(self, slot: str, inputs: str) -> None:
        return None

    def remember(self, slot: str, inputs: str, digest: str) -> None:
        pass

    def digest_all(self, files: Sequence[LocalFile], jobs: int = 4) -> list[Blob]:
        return [Blob("", f.size) for f in files]

    def digest_columns(self, files: Sequence[LocalFile], jobs: int = 4) -> tuple[bytearray, array[int]]:
        """No digest (20 zero bytes each) and the scanned sizes: :func:`hash_share` hashes a shard's share."""
        return bytearray(20 * len(files)), array("q", (f.size for f in files))


def load_unhashed(paths: Sequence[Path], root: Path) -> list[Desired]:
    """The desired datasets of the manifests under ``paths``, no data file read."""
    from labelsync.desired import resolve_desired
    from labelsync.manifest import load_manifests

    for p in paths:
        if not p.exists():
            raise UsageError(f"{p}: no such file or directory", hint="pass manifest files or directories")
    manifests = load_manifests(list(paths), root=root)
    return resolve_desired(manifests, cache=_Unread(), jobs=DEFAULT_JOBS)  # type: ignore[arg-type]


def hash_share(desired: Desired, keep: Callable[[str], bool], root: Path, jobs: int = 8) -> Desired:
    """``desired`` with only the items ``keep`` selects, their files (and masks) hashed."""
    from labelsync.local.hashcache import HashCache

    chosen = [(name, item) for name, seg in desired.dataset.segments.items() for p, item in seg.items.items() if keep(p)]
    files: list[LocalFile] = []
    for _, item in chosen:
        files.append(stat_file(str(item.source), item.remote_path))
        files.extend(stat_file(str(m.source), str(m.source)) for _, m in sorted(item.masks.items()))
    with HashCache(root) as cache:
        blobs = iter(cache.digest_all(files, jobs=jobs))
    items: dict[str, dict[str, Item]] = {name: {} for name in desired.dataset.segments}
    for name, item in chosen:
        blob = next(blobs)
        masks = {t: MaskFile(next(blobs), m.source) for t, m in sorted(item.masks.items())}
        label = dict(item.label)
        for t, m in masks.items():
            label[t] = {**label[t], "checksum": m.blob.checksum, "fileSize": m.blob.size}
        items[name][item.remote_path] = replace(item, blob=blob, label=label, masks=masks)
    segments = {name: replace(seg, items=items[name]) for name, seg in desired.dataset.segments.items()}
    return replace(desired, dataset=replace(desired.dataset, segments=segments))


def spec_root(spec: ShardSpec, spec_path: Path) -> Path:
    """The repository the shard runs in: the one ``--prepare`` ran in when it exists here,
    else the one of the working directory (another machine's checkout)."""
    from labelsync.local.git import find_root

    recorded = Path(spec.root) if spec.root else None
    if recorded is not None and (recorded / spec.manifest).is_file():
        return recorded
    return find_root(Path.cwd())


def read_spec_file(path: Path) -> ShardSpec:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}", hint="pass the file written by labelsync apply --prepare -o FILE") from exc
    return read_spec(text, origin=str(path))


def default_report_dir(spec_path: Path) -> Path:
    return spec_path.resolve().parent / "shard-reports"


def run_one(
    spec_path: Path, index: int, report_dir: Path, *, jobs: int = DEFAULT_JOBS, rate: float | None = None,
    events: ApplyEvents | None = None,
) -> dict[str, int]:
    """Run shard ``index`` of the sharded apply ``spec_path`` (raises LabelsyncError)."""
    from labelsync.manifest.remotes import load_remotes

    spec = read_spec_file(spec_path)
    if not 1 <= index <= spec.shards:
        raise UsageError(f"shard {index} is not in 1..{spec.shards} ({spec_path} has {spec.shards} shards)", hint=f"pass --shard I/{spec.shards}")
    root = spec_root(spec, spec_path)
    report_dir.mkdir(parents=True, exist_ok=True)
    budget.install(budget.Budget(rate, report_dir / PAUSE_FILE))
    try:
        found = [d for d in load_unhashed([root / spec.manifest], root) if d.dataset.name == spec.dataset]
        if not found:
            raise UsageError(f"{spec.manifest} no longer declares dataset '{spec.dataset}'", hint="prepare again from this checkout")
        share, why = read_share(spec_path, spec.live, index)  # before hashing: one section of one file
        desired = hash_share(found[0], shards.in_shard(index, spec.shards), root)
        options = ApplyOptions(root=root, jobs=jobs, message=spec.message, source=spec.source)
        with Connections(load_remotes(root), root, jobs=jobs) as conns:
            provider = conns.get(spec.remote).provider
            return shards.run_shard(spec, index, desired, provider, options, events or NullEvents(), report_dir, share, why)
    finally:
        budget.install(None)


def shard_task(spec_path: str, index: int, report_dir: str, jobs: int = DEFAULT_JOBS, rate: float | None = None) -> dict[str, Any]:
    """One shard as an executor task (see the module docstring): never raises a LabelsyncError."""
    try:
        stats = run_one(Path(spec_path), index, Path(report_dir), jobs=jobs, rate=rate)
    except LabelsyncError as exc:
        return {"ok": False, "shard": index, "error": exc.message, "hint": exc.hint or ""}
    return {"ok": True, "shard": index, **stats}
