"""``labelsync status`` and ``labelsync pull``: where each dataset stands, and labels back to git.

Thin: resolve the manifests, ask each dataset's provider, render, exit code. Both commands
work for every provider through :class:`~labelsync.providers.base.Provider` (``status`` and
``pull_labels``).

``status`` exits 0 when every dataset could be asked (in sync or not), 1 when any could not:
each dataset that could not be asked gets an ``Error: <name> (<provider>, remote <r>): ...``
line (and its ``Hint:``) on stderr, in both formats; the JSON entry keeps the message in
``error`` (and ``hint``), so stdout stays the report alone.
``pull`` merges, for each segment with ``labels.path``, the remote labels into the label
file (:mod:`labelsync.local.pull`: unchanged items keep their line, a file with no change is
not written, masks stay local files); a local line's ``timestamp`` is kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from labelsync.cli import output
from labelsync.cli.sync import load_desired_set, paths_argument
from labelsync.errors import LabelsyncError

if TYPE_CHECKING:  # the modules each command needs are imported when it runs
    from labelsync.local.labelsets import LabelSet
    from labelsync.local.pull import ForeignPull, SegmentPull
    from labelsync.state import Desired

STATUS_FORMAT_VERSION = 1


# --------------------------------------------------------------------------- status


def _describe(desired: Desired, facts: dict[str, Any]) -> list[str]:
    """Text lines for one dataset's status facts."""
    ds = desired.dataset
    head = f"{ds.name} ({ds.provider}, remote {ds.remote})"
    if not facts.get("exists"):
        return [f"{head}: not on the remote (apply creates it)"]
    if facts.get("in_sync"):
        sync = "in sync with the manifest"
    else:
        n = facts.get("changes")
        sync = "NOT in sync with the manifest" + (f" ({n} change(s); run plan)" if n else " (run plan)")
    from labelsync.providers.registry import PROVIDERS

    lines: list[str] = PROVIDERS[ds.provider].load("describe_status")(head, sync, facts)
    return lines


@click.command()
@paths_argument
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format.")
def status(paths: tuple[Path, ...], fmt: str) -> int:
    """Show where each dataset stands on its remote.

    \b
    tensorbay: head commit, open drafts, in sync with the manifest or not.
    deepen: processing status, current stage and progress per pipeline stage.

    \b
    Examples:
      labelsync status examples/deepen-images
      labelsync status --format json
    """
    from labelsync.engine.connect import Connections
    from labelsync.plan.differ import build_dataset_plan
    from labelsync.providers.registry import PROVIDERS

    desired, root, manifests = load_desired_set(paths)
    report: list[dict[str, Any]] = []
    failed = False
    with Connections(manifests.remotes, root) as conns:
        for want in desired:
            ds = want.dataset
            entry: dict[str, Any] = {"name": ds.name, "provider": ds.provider, "remote": ds.remote, "manifest": want.manifest}
            try:
                provider = conns.get(ds.remote).provider
                entry.update(provider.status(want))
                if entry.get("exists") and not entry.get("in_sync"):
                    # the recorded digest differs (or there is none): compare the content itself
                    changes = build_dataset_plan(
                        want, provider.read_live(want), root=str(root),
                        capabilities=PROVIDERS[want.dataset.provider].capabilities,
                    ).changes
                    entry["in_sync"] = not changes
                    entry["changes"] = len(changes)
            except LabelsyncError as err:
                failed = True
                entry["error"] = err.message
                if err.hint:
                    entry["hint"] = err.hint
                output.err_line(f"Error: {ds.name} ({ds.provider}, remote {ds.remote}): {err.message}")
                if err.hint:
                    output.err_line(f"Hint: {err.hint}")
            report.append(entry)
            if fmt == "text" and "error" not in entry:
                for line in _describe(want, entry):
                    click.echo(output.redact(line))
    if fmt == "json":
        click.echo(output.redact(json.dumps({"format_version": STATUS_FORMAT_VERSION, "datasets": report}, indent=2, sort_keys=True)))
    return 1 if failed else 0


# --------------------------------------------------------------------------- pull


@dataclass(frozen=True)
class _Target:
    """Where one segment's labels live, and in which format."""

    path: Path
    labels: LabelSet | None
    """The labels as read, for a foreign format (``None``: JSON Lines, merged line by line)."""
    data_dir: Path | None
    options: dict[str, Path]


def _label_files(manifests: Any) -> dict[tuple[str, str], dict[str, _Target]]:
    """``(remote, dataset name) -> segment -> target`` for segments with ``labels``; foreign
    formats come from the label sets validation already read."""
    from labelsync.local.labelsets import DEFAULT_FORMAT, read_segment_labels
    from labelsync.local.paths import resolve_inside

    out: dict[tuple[str, str], dict[str, _Target]] = {}
    root = manifests.root
    for entry in manifests:
        spec = entry.manifest.spec
        segments = {}
        for seg in spec.segments:
            if seg.labels is None:
                continue
            base = entry.file.parent
            path = resolve_inside(root, base, seg.labels.path)
            options = {k: resolve_inside(root, base, v) for k, v in seg.labels.options().items()}
            data_dir = resolve_inside(root, base, seg.data.path) if seg.data is not None else None
            found = None
            if seg.labels.format != DEFAULT_FORMAT:
                found = read_segment_labels(
                    manifests.label_reads, root, base, fmt=seg.labels.format, path=seg.labels.path,
                    options=seg.labels.options(), data_path=seg.data.path if seg.data is not None else None,
                    display=lambda p: _show(p, root),
                )
            segments[seg.name] = _Target(path, found, data_dir, options)
        out[(spec.remote, entry.manifest.metadata.name)] = segments
    return out


@click.command()
@paths_argument
def pull(paths: tuple[Path, ...]) -> int:
    """Write the remote labels into the repository's label files (labels.path).

    Only items whose remote label differs from the local one change; a file with no such
    item is not touched (not a byte). A segment declared in another format (coco, voc,
    yolo, labelme, kitti) is rewritten in that format, keeping every unchanged label's
    bytes. Mask labels stay references to local mask files, whose bytes are written when
    they differ. Every remote answer is read and checked before anything is written, and a
    label file is replaced (atomically) only when it validates.

    \b
    Example:
      labelsync pull examples/deepen-images && git diff
    """
    from labelsync.engine.connect import Connections
    from labelsync.local.labelcheck import check_labels
    from labelsync.local.pull import ForeignPull, merge_foreign, merge_labels, write_foreign, write_pull

    desired, root, manifests = load_desired_set(paths)
    files = _label_files(manifests)
    merged: list[tuple[Desired, str, _Target, SegmentPull | ForeignPull]] = []
    with Connections(manifests.remotes, root) as conns:
        for want in desired:
            ds = want.dataset
            targets = files.get((ds.remote, ds.name), {})
            if not targets:
                continue
            pulled = conns.get(ds.remote).provider.pull_labels(want)
            if not pulled:
                click.echo(f"{ds.name}: nothing to pull yet (the remote holds no labelled data)")
                continue
            for segment, target in targets.items():
                if segment not in pulled:
                    continue
                items = ds.segments[segment].items if segment in ds.segments else {}
                where = f"{ds.name}/{segment}"
                result: SegmentPull | ForeignPull
                if target.labels is not None:
                    result = merge_foreign(target.labels, pulled[segment], items, where=where)
                else:
                    result = merge_labels(target.path, pulled[segment], items, root, where=where)
                merged.append((want, segment, target, result))
        # every answer is in (and the masks downloaded): only now is anything written
        updated = unchanged = 0
        for want, segment, target, result in merged:
            ds = want.dataset
            known = set(ds.segments[segment].items) if segment in ds.segments else set()
            if isinstance(result, ForeignPull):
                write_foreign(result, ds.catalog, known, root, data_dir=target.data_dir, options=target.options)
            else:

                def check(tmp: Path, _path: Path = result.path, _catalog: Any = ds.catalog, _known: set[str] = known) -> list[Any]:
                    return check_labels(tmp, _catalog, _known, root=root, display=_show(_path, root))

                write_pull(result, check)
            if result.changed:
                updated += 1
                click.echo(f"updated {_show(result.path, root)} ({ds.name}/{segment})")
            else:
                unchanged += 1
            if result.skipped:
                click.echo(
                    f"{ds.name}/{segment}: {result.skipped} remote label(s) of files the local data selection "
                    "does not hold were not written"
                )
    click.echo(f"{updated} label file{'s' if updated != 1 else ''} updated, {unchanged} unchanged.")
    return 0


def _show(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


COMMANDS: list[click.Command] = [status, pull]
