"""``labelsync stats``: label statistics of the local labels, and of the remote's.

Thin: resolve the manifests, count (:mod:`labelsync.plan.stats`), render
(:mod:`labelsync.plan.render_stats`). With ``--remote`` each dataset's live labels are read
through its provider (the listed labels), shown as ``remote -> local`` with the delta. A
remote whose recorded desired-state digest equals the local one is not listed: it holds
exactly the local labels.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from labelsync.cli.sync import load_desired_set, paths_argument

STATS_FORMAT_VERSION = 1


@click.command()
@paths_argument
@click.option("--remote", is_flag=True, help="Also count the remote's labels (remote -> local, with the delta).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format.")
def stats(paths: tuple[Path, ...], remote: bool, fmt: str) -> int:
    """Count labels per dataset, segment, label type, category and enum attribute value.

    \b
    Examples:
      labelsync stats examples/quickstart
      labelsync stats examples/quickstart --remote --format json
    """
    from labelsync.engine.connect import Connections

    desired, root, manifests = load_desired_set(paths)
    results: list[dict[str, Any]] = []
    if remote:
        with Connections(manifests.remotes, root) as conns:
            for want in desired:
                live = conns.get(want.dataset.remote).provider.read_live(want)
                proven = not live.complete
                side = want.dataset if proven else live.dataset
                results.append(_result(want.dataset, side, exists=side is not None, proven=proven))
    else:
        results = [_result(want.dataset, None, exists=None, proven=False) for want in desired]
    if fmt == "json":
        click.echo(json.dumps({"format_version": STATS_FORMAT_VERSION, "datasets": results}, ensure_ascii=False, indent=2))
        return 0
    for i, result in enumerate(results):
        if i:
            click.echo("")
        click.echo("\n".join(_text(result, remote)))
    return 0


def _result(local: Any, live: Any, *, exists: bool | None, proven: bool) -> dict[str, Any]:
    from labelsync.plan.stats import dataset_stats

    out: dict[str, Any] = {"name": local.name, "local": dataset_stats(local)}
    if exists is not None:
        out["remote"] = dataset_stats(live, local.catalog) if live is not None else None
        out["remote_proven_equal"] = proven
    return out


def _text(result: dict[str, Any], remote: bool) -> list[str]:
    from labelsync.plan.render_stats import text_lines
    from labelsync.plan.stats import stat_rows

    name = result["name"]
    if not remote:
        head = f"dataset {name} (local labels)"
        return [head, *(f"  {line}" for line in text_lines(stat_rows(None, result["local"]), single=True))]
    if result["remote"] is None:
        head = f"dataset {name} (remote -> local; not on the remote)"
    elif result["remote_proven_equal"]:
        head = f"dataset {name} (remote -> local; the remote's recorded digest equals the local one)"
    else:
        head = f"dataset {name} (remote -> local)"
    return [head, *(f"  {line}" for line in text_lines(stat_rows(result["remote"], result["local"])))]


COMMANDS: list[click.Command] = [stats]
