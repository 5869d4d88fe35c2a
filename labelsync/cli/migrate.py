"""``labelsync migrate [PATHS]``: rewrite label files that still use renamed names.

Reads the manifests (validated, local data included) and, for every segment with labels
whose catalog declares renames (``renamedFrom``, ``renamedValues``), rewrites the labels
that use an old name in the segment's own format (:mod:`labelsync.local.migrate`): each
file atomically, unchanged labels keeping their bytes. Prints one line per file written and
a total; a second run writes nothing. The manifest's ``renamedFrom`` can be removed once
every label file (and the remote, ``labelsync apply``) has the new names.
"""

from __future__ import annotations

from pathlib import Path

import click

from labelsync.cli.sync import paths_argument


def _show(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@click.command()
@paths_argument
def migrate(paths: tuple[Path, ...]) -> int:
    """Rewrite label files that use names the catalog declares renamed (renamedFrom).

    \b
    Examples:
      labelsync migrate                      # every manifest under the working directory
      labelsync migrate examples/quickstart
    """
    from labelsync.local.labelsets import read_segment_labels
    from labelsync.local.migrate import migrate_label_set
    from labelsync.local.paths import resolve_inside
    from labelsync.manifest import load_manifests
    from labelsync.manifest.model import catalog_json
    from labelsync.manifest.renaming import catalog_renames

    manifests = load_manifests(list(paths) or [Path(".")])
    root = manifests.root
    files = items = 0
    done: set[Path] = set()
    for entry in manifests:
        renames = catalog_renames(entry.manifest)
        if not renames:
            continue
        base = entry.file.parent
        catalog = catalog_json(entry.manifest)
        for seg in entry.manifest.spec.segments:
            if seg.labels is None:
                continue
            found = read_segment_labels(
                manifests.label_reads, root, base, fmt=seg.labels.format, path=seg.labels.path,
                options=seg.labels.options(), data_path=seg.data.path if seg.data is not None else None, display=_show,
            )
            if found.path.resolve() in done:
                continue
            done.add(found.path.resolve())
            options = {k: resolve_inside(root, base, v) for k, v in seg.labels.options().items()}
            data_dir = resolve_inside(root, base, seg.data.path) if seg.data is not None else None
            n, written = migrate_label_set(found, renames, data_dir=data_dir, options=options, catalog=catalog)
            items += n
            for path in written:
                files += 1
                click.echo(f"rewrote {_show(path)} ({entry.manifest.metadata.name}/{seg.name})")
    if not files:
        click.echo("No label file uses a renamed name.")
    else:
        click.echo(f"Migrated the labels of {items:,} item{'s' if items != 1 else ''} in {files:,} file{'s' if files != 1 else ''}.")
    return 0


COMMANDS: list[click.Command] = [migrate]
