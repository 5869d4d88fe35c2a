"""``labelsync convert PATHS --to FORMAT [--segment S] -o OUT``: export a segment's labels.

Reads the manifests (validated, local data included), takes the labels of one segment as
read in its declared format, and writes them to ``OUT`` in ``FORMAT`` (a file for ``coco``
and ``tensorbay``, a directory for ``voc``, ``yolo`` and ``labelme``) with the writers of
:mod:`labelsync.formats`. ``OUT`` must not exist yet (a non-empty directory or an existing
file is refused), so nothing the user had is overwritten. YOLO output gets a
``classes.txt`` from the catalog; JSON Lines output rewrites mask paths relative to ``OUT``.
A format keeps only what it can hold (``docs/labels.md``: VOC boxes, YOLO boxes and
polygons without attributes).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from labelsync.cli.sync import paths_argument
from labelsync.errors import UsageError
from labelsync.formats.names import DEFAULT as DEFAULT_FORMAT
from labelsync.formats.names import WRITABLE

if TYPE_CHECKING:  # the modules the command needs are imported when it runs
    from labelsync.local.labelsets import LabelSet

TARGETS = WRITABLE


def _show(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _rebase_masks(labels: dict[str, dict[str, Any]], source: LabelSet, out: Path) -> dict[str, dict[str, Any]]:
    """Mask paths (relative to the source label file) made relative to ``out``'s directory."""
    from labelsync.state import MASK_TYPES

    src_dir = source.path.parent
    result: dict[str, dict[str, Any]] = {}
    for rp, label in labels.items():
        new = dict(label)
        for t in MASK_TYPES:
            entry = label.get(t)
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                target = os.path.relpath(src_dir / entry["path"], out.resolve().parent)
                new[t] = {**entry, "path": Path(target).as_posix()}
        result[rp] = new
    return result


@click.command()
@paths_argument
@click.option("--to", "target", type=click.Choice(TARGETS), required=True, help="The format to write.")
@click.option("--segment", default=None, help="The segment to export (needed when several have labels).")
@click.option("-o", "--output", "out", type=click.Path(path_type=Path), required=True,
              help="The file (coco, tensorbay) or new directory (voc, yolo, labelme) to write.")
def convert(paths: tuple[Path, ...], target: str, segment: str | None, out: Path) -> int:
    """Export a segment's labels in another label format (for training or other tools).

    \b
    Examples:
      labelsync convert examples/coco --to yolo -o /tmp/yolo-labels
      labelsync convert examples/quickstart --to coco -o instances.json
    """
    from labelsync.local.labelsets import effective_catalog, read_segment_labels
    from labelsync.local.labelwrite import write_labels_as, yolo_names
    from labelsync.local.paths import resolve_inside
    from labelsync.local.renamed import follow_renames
    from labelsync.manifest import load_manifests
    from labelsync.manifest.model import catalog_json
    from labelsync.manifest.renaming import catalog_renames

    manifests = load_manifests(list(paths) or [Path(".")])
    root = manifests.root
    found: list[tuple[Any, Any]] = []
    for entry in manifests:
        for seg in entry.manifest.spec.segments:
            if seg.labels is not None and (segment is None or seg.name == segment):
                found.append((entry, seg))
    if not found:
        what = f"segment {segment!r}" if segment else "a segment"
        raise UsageError(f"no manifest has {what} with labels", hint="name a labelled segment with --segment")
    if len(found) > 1:
        names = ", ".join(f"{e.manifest.metadata.name}/{s.name}" for e, s in found)
        raise UsageError(f"several segments have labels: {names}", hint="choose one with --segment (and one manifest path)")
    if out.exists() and (out.is_file() or any(out.iterdir())):
        raise UsageError(f"{out} already exists", hint="choose a new -o path; convert never overwrites")
    entry, seg = found[0]
    base = entry.file.parent
    data_path = seg.data.path if seg.data is not None else None

    def read(s: Any) -> LabelSet:
        return read_segment_labels(
            manifests.label_reads, root, base, fmt=s.labels.format, path=s.labels.path, options=s.labels.options(),
            data_path=s.data.path if s.data is not None else None, display=_show,
        )

    source = follow_renames(read(seg), catalog_renames(entry.manifest)).labels  # the new names
    spec = entry.manifest.spec
    from_labels = spec.catalog is not None and spec.catalog.from_ == "labels"
    sets = [read(s) for s in spec.segments if s.labels is not None] if from_labels else []
    catalog = effective_catalog(catalog_json(entry.manifest), from_labels, sets)
    data_dir = resolve_inside(root, base, data_path) if data_path is not None else None
    labels = source.labels
    options: dict[str, Path] = {}
    if target == DEFAULT_FORMAT:
        labels = _rebase_masks(labels, source, out)
    elif target == "yolo":
        out.mkdir(parents=True, exist_ok=True)
        names_file = out / "classes.txt"
        names_file.write_text("".join(f"{n}\n" for n in yolo_names(catalog)), encoding="utf-8")
        options["classes"] = names_file
    elif target in ("voc", "labelme"):
        out.mkdir(parents=True, exist_ok=True)
    written = write_labels_as(target, out, labels, data_dir=data_dir, options=options, catalog=catalog)
    click.echo(
        f"wrote {len(written)} file{'s' if len(written) != 1 else ''} to {_show(out)} "
        f"({target}, from segment {seg.name!r} of {entry.manifest.metadata.name!r}, {len(labels)} items)"
    )
    return 0


COMMANDS: list[click.Command] = [convert]
