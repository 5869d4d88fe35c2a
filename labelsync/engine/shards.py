"""Sharded apply: one dataset's apply split over processes and machines, one commit at the end.

``docs/scaling.md`` ("Sharded apply: the commands") shows the commands. Three steps, each
through a :class:`~labelsync.providers.sharding.ShardedSession`:

1. :func:`prepare` plans the dataset's metadata only (settings, catalog, notes, segments,
   sensors: every change but files and labels, against the live branch head), applies it
   inside a lock that outlives the process (TensorBay: the draft), and returns the
   :class:`~labelsync.engine.shardspec.ShardSpec` to save. No data file is read.
   The remote's items at the base, listed here once, are written per shard next to the
   spec (:mod:`labelsync.engine.shardlive`).
2. :func:`run_shard` plans the shard's share only (the remote paths
   :func:`~labelsync.engine.shardspec.shard_of` gives it, on both sides of the diff: its
   file and label changes, and with prune its file deletions) against its share of the
   remote, read from that file (no listing; without a matching file: listed), checks the
   branch head is still the base, resumes the lock, writes its changes, and writes its
   report last (:mod:`labelsync.engine.shardreport`). Writes are idempotent, so a re-run
   reaches the same end state: one that finds its start marker
   (:func:`~labelsync.engine.shardreport.mark_started`) lists what the lock's work holds
   and skips it; one that does not (another machine) writes its share again.
3. :func:`finish` refuses unless every shard reported and the remote holds every reported
   item, computes the desired digest from the spec and the reports, and commits once.

The engine's :func:`~labelsync.engine.apply.apply_dataset` drives steps 1 and 2 (through
:class:`_Role`, which opens with ``prepare``/``resume`` and does not commit).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from labelsync.columns import ItemTable
from labelsync.engine.apply import apply_dataset
from labelsync.engine.shardlive import write_shares
from labelsync.engine.shardreport import (
    desired_dataset,
    mark_started,
    metadata_json,
    read_reports,
    reported_items,
    write_report,
)
from labelsync.engine.shardspec import ShardSpec, shard_of
from labelsync.errors import ApplyError, PlanError, StalePlanError, UsageError
from labelsync.plan.changelist import ChangeList, FileRun, parts
from labelsync.plan.differ import build_dataset_plan
from labelsync.plan.model import BlobTransfer, Change, DatasetPlan, FileChange, Kind
from labelsync.plan.rowdiff import resolved
from labelsync.providers.base import Provider
from labelsync.providers.registry import PROVIDERS
from labelsync.providers.session import (
    ApplyEvents,
    ApplyOptions,
    ApplyResult,
    Opened,
    TransferReport,
)
from labelsync.providers.sharding import ShardedSession
from labelsync.renames import Renames
from labelsync.state import Dataset, Desired, Item, Live, Segment, dataset_digest, item_fingerprint

SHARE_KINDS = (Kind.FILE, Kind.LABEL)
"""What a shard writes; everything else is written by the prepare step."""
UNKNOWN_DIGEST = "sha256:unknown-sharded"
"""Stands for the desired digest while planning part of a dataset (it never equals a recorded one)."""


def check_shardable(provider: str) -> None:
    """:class:`UsageError` (one line) when ``provider`` cannot shard an apply."""
    spec = PROVIDERS[provider]
    if not spec.capabilities.shardable:
        raise UsageError(
            f"the {spec.title} provider cannot split an apply into shards (it writes a dataset's content as one unit)",
            hint="run a plain `labelsync apply` for this dataset",
        )


def in_shard(index: int, shards: int) -> Callable[[str], bool]:
    """The predicate of shard ``index`` of ``shards`` over remote paths."""
    return lambda path: shard_of(path, shards) == index


def _keep(dataset: Dataset, keep: Callable[[str], bool]) -> Dataset:
    segments = {name: replace(seg, items=_kept_items(seg.items, keep)) for name, seg in dataset.segments.items()}
    return replace(dataset, segments=segments)


def _kept_items(items: Mapping[str, Item], keep: Callable[[str], bool]) -> Mapping[str, Item]:
    """The items whose path ``keep`` selects: a table's rows stay columns (so the differ
    plans them as compact runs), any other mapping becomes a dict."""
    table = resolved(items)
    if not isinstance(table, ItemTable):
        return {p: item for p, item in table.items() if keep(p)}
    rows = [i for i, path in enumerate(table.paths) if keep(path)]
    sums, sizes = table.sums, table.sizes
    return ItemTable(
        [table.paths[i] for i in rows],
        bytearray(b"".join(sums[20 * i : 20 * i + 20] for i in rows)),
        array("q", [sizes[i] for i in rows]),
        {k: table.extras[i] for k, i in enumerate(rows) if i in table.extras},
        table.base,
    )


def share_plan(desired: Desired, live: Live, keep: Callable[[str], bool], root: Path, kinds: Callable[[Kind], bool]) -> DatasetPlan:
    """The plan of the items ``keep`` selects (on both sides), with the changes of ``kinds``."""
    want = replace(desired, dataset=_keep(desired.dataset, keep), digest=UNKNOWN_DIGEST, renames=Renames())
    have = replace(live, dataset=_keep(live.dataset, keep)) if live.dataset is not None else live
    capabilities = PROVIDERS[desired.dataset.provider].capabilities
    plan = build_dataset_plan(want, have, root=str(root), capabilities=capabilities)
    if plan.blocked:
        raise PlanError("the plan cannot be applied: " + "; ".join(plan.blocked), hint="change the manifest, then prepare again")
    files = kinds(Kind.FILE)  # a compact run holds file changes only: kept or dropped whole
    return replace(plan, changes=ChangeList(
        p for p in parts(plan.changes) if (files if isinstance(p, FileRun) else kinds(p.kind))
    ))


class _Role:
    """A :class:`ShardedSession` as :func:`apply_dataset` drives it: opened by ``opener``
    (``prepare`` or ``resume``), and no commit (the finish commits)."""

    def __init__(self, session: ShardedSession, opener: Callable[[], Opened]) -> None:
        self.session, self._opener = session, opener
        self.reuses_content = session.reuses_content
        self.messages = session.messages

    def open(self) -> Opened:
        return self._opener()

    def put(self, change: Change) -> str | None:
        return self.session.put(change)

    def transfer(self, segment: str, files: Sequence[FileChange], blobs: Sequence[BlobTransfer], report: TransferReport) -> Any:
        return self.session.transfer(segment, files, blobs, report)

    def register_batch(self, segment: str, labels: bool) -> int:
        return self.session.register_batch(segment, labels)

    def register(self, segment: str, changes: Sequence[Change]) -> None:
        self.session.register(segment, changes)

    def delete(self, change: Change) -> None:
        self.session.delete(change)

    def commit(self, message: str, source: Mapping[str, str]) -> str | None:
        return None

    def close(self, error: BaseException | None) -> BaseException | None:
        return self.session.close(error)


def _session(provider: Provider, plan: DatasetPlan, options: ApplyOptions, events: ApplyEvents) -> ShardedSession:
    check_shardable(plan.provider)
    factory = getattr(provider, "shard_session", None)
    session = factory(plan, options, events) if factory is not None else None
    if not isinstance(session, ShardedSession):
        raise UsageError(f"the {plan.provider} provider offers no sharded session", hint="run a plain `labelsync apply`")
    return session


def prepare(
    desired: Desired, provider: Provider, shards: int, options: ApplyOptions, events: ApplyEvents, *, manifest: str,
    remote_url: str = "", live_path: Path | None = None,
) -> ShardSpec:
    """Step 1 (see the module docstring): apply the metadata and hold the lock; the spec to
    save. With ``live_path``, every shard's share of the remote is written there first."""
    check_shardable(desired.dataset.provider)
    live = provider.read_live(replace(desired, digest=UNKNOWN_DIGEST))
    block = write_shares(live_path, live, shards) if live_path is not None else {}
    plan = share_plan(desired, live, lambda _: False, options.root, lambda kind: kind not in SHARE_KINDS)
    plan = replace(plan, desired_digest="shards:" + (live.head or "new")[:12], tag=None)
    session = _session(provider, plan, options, events)
    try:
        apply_dataset(_Role(session, session.prepare), plan, options, events)
    finally:
        events.done()
    prepared = session.prepared()
    return ShardSpec(
        run=str(prepared.get("run")), shards=shards, dataset=desired.dataset.name, manifest=manifest,
        remote=desired.dataset.remote, provider=desired.dataset.provider, branch=desired.dataset.branch, base=plan.base,
        prepared=prepared, desired=metadata_json(desired.dataset, desired.policy.prune), root=str(options.root),
        remote_url=remote_url, message=options.message, source=dict(options.source), live=block,
    )


def run_shard(
    spec: ShardSpec, index: int, desired: Desired, provider: Provider, options: ApplyOptions, events: ApplyEvents, report_dir: Path,
    share: Mapping[str, ItemTable] | None = None, why: str = "",
) -> dict[str, int]:
    """Step 2 for shard ``index``: ``desired`` holds (at least) the share's items, hashed;
    ``share`` is the shard's share of the remote at the base (None: list the remote, saying
    ``why``). Returns the shard's counts; its report is written last."""
    try:
        return _run_shard(spec, index, desired, provider, options, events, report_dir, share, why)
    finally:
        events.done()


def share_live(spec: ShardSpec, desired: Desired, share: Mapping[str, ItemTable]) -> Live:
    """The remote as a shard sees it from its share: the base's items of its paths, and the
    metadata ``--prepare`` applied (the desired one: a shard writes no metadata)."""
    ds = desired.dataset
    segments = {
        name: Segment(name=name, sensors=ds.segments[name].sensors if name in ds.segments else {}, items=items)
        for name, items in share.items()
    }
    dataset = replace(ds, segments=segments)
    remote_id = str(spec.prepared.get("datasetId") or "") or None
    return Live(dataset=dataset, head=spec.base, remote_id=remote_id, verified=bool(spec.live.get("verified", True)))


def _run_shard(
    spec: ShardSpec, index: int, desired: Desired, provider: Provider, options: ApplyOptions, events: ApplyEvents, report_dir: Path,
    share: Mapping[str, ItemTable] | None, why: str,
) -> dict[str, int]:
    keep = in_shard(index, spec.shards)
    if share is None:
        events.message(f"{spec.dataset}: {why or 'no share of the remote'}; shard {index} lists the remote instead")
        live = provider.read_live(replace(desired, digest=UNKNOWN_DIGEST))
        _check_base(spec, live.head)
    else:
        live = share_live(spec, desired, share)
    plan = share_plan(desired, live, keep, options.root, lambda kind: kind in SHARE_KINDS)
    plan = replace(plan, base=spec.base, remote_id=str(spec.prepared.get("datasetId") or plan.remote_id or ""))
    stats = {"files": 0, "changes": len(plan.changes), "uploaded": 0, "bytes": 0}
    if share is not None or plan.changes:
        session = _session(provider, plan, options, events)
        if share is not None:
            _check_base(spec, session.head())
        if plan.changes:
            # A first run lists nothing: the lock's work holds the base of this share. (A
            # listing of the draft while other shards write to it may also come out incomplete.)
            held = mark_started(report_dir, spec, index)
            result = apply_dataset(_Role(session, lambda: session.resume(spec.prepared, held=held)), plan, options, events)
            stats.update(uploaded=result.files_uploaded, bytes=result.bytes_uploaded)
    mine = {name: {p: i for p, i in seg.items.items() if keep(p)} for name, seg in desired.dataset.segments.items()}
    stats["files"] = sum(len(v) for v in mine.values())
    write_report(report_dir, spec, index, mine, stats)
    return stats


def _check_base(spec: ShardSpec, head: str | None) -> None:
    """:class:`StalePlanError` when the branch head is no longer the spec's base."""
    if head != spec.base:  # the finish committed already, or someone did
        raise StalePlanError(
            f"branch '{spec.branch}' of dataset '{spec.dataset}' moved from {(spec.base or 'nothing')[:12]} to "
            f"{(head or 'nothing')[:12]} since --prepare (this sharded apply was finished, or another commit landed)",
            hint="nothing to do if it was finished; else prepare again: labelsync apply --prepare -o FILE --shards N",
        )


def _finish_plan(spec: ShardSpec, digest: str) -> DatasetPlan:
    d = spec.desired
    return DatasetPlan(
        name=spec.dataset, remote=spec.remote, provider=spec.provider, kind=d["kind"], base=spec.base,
        desired_digest=digest, branch=spec.branch, remote_id=str(spec.prepared.get("datasetId") or ""),
    )


def finish(spec: ShardSpec, provider: Provider, report_dir: Path, options: ApplyOptions, events: ApplyEvents) -> ApplyResult:
    """Step 3: check every shard reported and the remote holds every item; commit once."""
    reports, missing = read_reports(report_dir, spec)
    if missing:
        numbers = ", ".join(str(i) for i in missing)
        raise UsageError(
            f"cannot finish: shard(s) {numbers} of {spec.shards} have not reported in {report_dir}",
            hint=f"run them (labelsync apply SHARDS.json --shard {missing[0]}/{spec.shards}), then --finish again",
        )
    items = reported_items(reports)
    dataset = desired_dataset(spec, items)
    digest = dataset_digest(dataset, prune=bool(spec.desired.get("prune")))
    plan = _finish_plan(spec, digest)
    session = _session(provider, plan, options, events)
    try:
        session.resume(spec.prepared)
        _check_held(spec, session, dataset)
        events.phase(spec.dataset, "commit")
        revision = session.finish(spec.prepared, digest, options.message or spec.message, options.source or spec.source)
    finally:
        session.close(None)
        events.done()
    files = sum(int(r.get("stats", {}).get("files", 0)) for r in reports.values())
    return ApplyResult(
        name=spec.dataset, revision=revision, files_uploaded=sum(int(r.get("stats", {}).get("uploaded", 0)) for r in reports.values()),
        bytes_uploaded=sum(int(r.get("stats", {}).get("bytes", 0)) for r in reports.values()), files_registered=files,
        changes_applied=sum(int(r.get("stats", {}).get("changes", 0)) for r in reports.values()),
    )


def _check_held(spec: ShardSpec, session: ShardedSession, dataset: Dataset) -> None:
    """:class:`ApplyError` naming the shards to re-run when the remote does not hold exactly
    the reported items (with prune: nothing more either)."""
    wrong: dict[int, str] = {}
    prune = bool(spec.desired.get("prune"))
    for name, seg in dataset.segments.items():
        held = session.holds(name) if seg.items or prune else {}
        for path, item in seg.items.items():
            have = held.get(path)
            if have is None or item_fingerprint(have) != item_fingerprint(item):
                wrong.setdefault(shard_of(path, spec.shards), f"{name}/{path}")
        for path in held if prune else ():
            if path not in seg.items:
                wrong.setdefault(shard_of(path, spec.shards), f"{name}/{path}")
    if wrong:
        numbers = ", ".join(str(i) for i in sorted(wrong))
        first = wrong[min(wrong)]
        raise ApplyError(
            f"cannot finish: the remote does not hold what shard(s) {numbers} reported (e.g. {first})",
            hint="re-run those shards (their reports are rewritten), then --finish again",
        )

