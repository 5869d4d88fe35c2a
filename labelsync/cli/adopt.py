"""``labelsync import REMOTE DATASET [--dir DIR] [--with-data] [--format FORMAT]``.

Thin: find the repository root and its remotes, connect (the embedded emulator for a
local remote), run :func:`labelsync.adopt.importer.import_dataset`, print what was written
and what to run next.
"""

from __future__ import annotations

from pathlib import Path

import click

from labelsync.errors import UsageError
from labelsync.formats.names import DEFAULT, IMPORTABLE


@click.command("import")
@click.argument("remote")
@click.argument("dataset")
@click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Where to write the manifest and files (default: ./DATASET).")
@click.option("--with-data", is_flag=True, help="Also download the data files (needed for plan to show no changes).")
@click.option("--format", "fmt", type=click.Choice(IMPORTABLE), default=DEFAULT, show_default=True,
              help="The label format to write (all but tensorbay need --with-data, for image sizes); "
                   "refused, nothing written, when it cannot hold every remote label.")
@click.option("--calib", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="--format kitti: the KITTI calib directory (<frame>.txt per frame), copied in.")
def import_(remote: str, dataset: str, directory: Path | None, with_data: bool, fmt: str, calib: Path | None) -> int:
    """Adopt a dataset that exists on REMOTE: write its manifest, labels and (with
    --with-data) data files, so that `labelsync plan` on them shows no changes.

    Never overwrites a file: an existing manifest or segment directory is refused.

    \b
    Examples:
      labelsync import default city-driving --with-data
      labelsync import labellers signs --dir datasets/signs --with-data --format coco
    """
    from labelsync.adopt.importer import import_dataset
    from labelsync.engine.connect import Connections
    from labelsync.local.git import find_root
    from labelsync.manifest.remotes import load_remotes
    from labelsync.plan.model import format_bytes
    from labelsync.providers.registry import PROVIDERS

    cwd = Path.cwd()
    target = (directory if directory is not None else Path(dataset)).absolute()
    root = find_root(cwd)
    if not target.resolve().is_relative_to(root.resolve()):
        raise UsageError(f"{target} is outside the repository {root}", hint="import into a directory inside the repository")
    remotes = load_remotes(root)
    with Connections(remotes, root) as connections:
        conn = connections.get(remote)
        spec = PROVIDERS[conn.remote.provider]
        result = import_dataset(conn.provider, spec, remote=remote, name=dataset, directory=target, fmt=fmt,
                                with_data=with_data, show=cwd, calib=calib.absolute() if calib else None)
    shown = _show(result.manifest, cwd)
    data = f", {result.data_files} data files ({format_bytes(result.data_bytes)})" if with_data else ""
    masks = f", {result.masks} masks" if result.masks else ""
    click.echo(f"imported {spec.title} dataset '{dataset}' from remote '{remote}': {result.segments} segment(s), "
               f"{result.items} items, {result.labelled} labelled{masks}{data} -> {shown} ({fmt} labels)")
    for warning in result.warnings:
        click.echo(f"warning: {warning}")
    if not with_data:
        click.echo("note: no data files were written; put them under each segment's data path "
                   "(or import again with --with-data) before planning")
    click.echo(f"next: labelsync plan {_show(result.manifest.parent, cwd)}")
    return 0


def _show(path: Path, cwd: Path) -> str:
    try:
        return str(path.relative_to(cwd)) or "."
    except ValueError:
        return str(path)


COMMANDS: list[click.Command] = [import_]
