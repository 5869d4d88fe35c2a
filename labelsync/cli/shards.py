"""The sharded-apply options of ``labelsync apply`` (``docs/scaling.md``).

::

    labelsync apply --prepare -o shards.json --shards N [PATHS...]
    labelsync apply shards.json --shard I/N [--report-dir DIR] [--max-requests-per-second R]
    labelsync apply shards.json --finish [--report-dir DIR]
    labelsync apply shards.json --executor local --jobs K
    labelsync apply shards.json --executor dask --scheduler tcp://HOST:8786

:func:`shard_options` adds the options to ``apply``; :func:`run` handles them, or returns
None for a plain apply. The work is the engine's (:mod:`labelsync.engine.shards`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from labelsync.cli import output
from labelsync.errors import UsageError
from labelsync.providers.session import DEFAULT_JOBS, ApplyOptions

_OPTIONS = [
    click.option("--prepare", is_flag=True, help="Sharded apply, step 1: take the lock and write the shards file (-o) for --shards N."),
    click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), default=None, help="With --prepare: where to write the shards file."),
    click.option("--shards", type=click.IntRange(1, 10_000), default=None, help="With --prepare: the number of shards."),
    click.option("--shard", "shard", default=None, metavar="I/N", help="Apply shard I of N (1-based) of the shards file."),
    click.option("--finish", is_flag=True, help="Sharded apply, last step: check every shard reported, commit once."),
    click.option("--report-dir", type=click.Path(path_type=Path, file_okay=False), default=None, help="Where shards write their reports (default: <shards file dir>/shard-reports)."),
    click.option("--executor", type=click.Choice(["local", "dask"]), default=None, help="Run every shard (local: --jobs processes; dask: on --scheduler), then finish."),
    click.option("--scheduler", default=None, metavar="tcp://HOST:8786", help="With --executor dask: the scheduler's address."),
    click.option("--max-requests-per-second", "max_rps", type=click.FloatRange(min=0, min_open=True), default=None, help="Per shard: at most R requests a second (API and uploads together)."),
]


def shard_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the sharded-apply options to ``command`` (they arrive as keyword arguments)."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def run(paths: tuple[Path, ...], *, jobs: int, message: str, tag: str | None, prepare: bool, out: Path | None, shards: int | None, shard: str | None,
        finish: bool, report_dir: Path | None, executor: str | None, scheduler: str | None, max_rps: float | None) -> int | None:
    """Handle a sharded apply; None when none of its modes was asked for (a plain apply)."""
    modes = [name for name, on in (("--prepare", prepare), ("--shard", shard), ("--finish", finish), ("--executor", executor)) if on]
    if not modes:
        extra = [n for n, v in (("-o", out), ("--shards", shards), ("--report-dir", report_dir), ("--scheduler", scheduler),
                                ("--max-requests-per-second", max_rps)) if v is not None]
        if extra:
            raise UsageError(f"{extra[0]} belongs to a sharded apply", hint="use it with --prepare, --shard, --finish or --executor")
        return None
    if tag is not None:
        raise UsageError("--tag is not offered by a sharded apply", hint="tag the commit after --finish, or apply without shards")
    if len(modes) > 1:
        raise UsageError(f"{modes[0]} and {modes[1]} cannot be combined", hint="run the steps one by one (docs/scaling.md)")
    if prepare:
        if out is None or shards is None:
            raise UsageError("--prepare needs -o FILE and --shards N", hint="e.g. labelsync apply --prepare -o shards.json --shards 4 .")
        return _prepare(paths, out, shards, jobs, message)
    from labelsync.engine.shardtask import default_report_dir, read_spec_file

    if len(paths) == 1 and not paths[0].exists():
        raise UsageError(f"{paths[0]}: no such shards file", hint=f"write it with labelsync apply --prepare -o {paths[0]} --shards N DIR, then {modes[0]} again")
    if len(paths) != 1 or not paths[0].is_file():
        raise UsageError(f"{modes[0]} takes the shards file written by --prepare", hint=f"labelsync apply shards.json {modes[0]} ...")
    spec_path = paths[0]
    spec = read_spec_file(spec_path)
    reports = report_dir or default_report_dir(spec_path)
    if shard is not None:
        return _shard(spec_path, spec, shard, reports, jobs, max_rps)
    if executor is not None:
        _execute(spec_path, spec, executor, scheduler, reports, jobs, max_rps)
    return _finish(spec_path, spec, reports, jobs, message)


def _prepare(paths: tuple[Path, ...], out: Path, shards: int, jobs: int, message: str) -> int:
    from labelsync.cli.sync import remotes_of, write_atomic
    from labelsync.engine import shards as engine
    from labelsync.engine.connect import Connections
    from labelsync.engine.planning import git_output, git_source
    from labelsync.engine.shardlive import live_name
    from labelsync.engine.shardspec import spec_json
    from labelsync.engine.shardtask import load_unhashed
    from labelsync.local.git import find_root
    from labelsync.redact import redact_url

    _check_writable(out)  # before the lock is taken: a lock without its shards file would be stuck
    live = out.parent / live_name(out.name)  # each shard's share of the remote, shipped with the shards file
    targets = list(paths) or [Path(".")]
    root = find_root(targets[0])
    desired = load_unhashed(targets, root)
    if len(desired) != 1:
        raise UsageError(f"a sharded apply writes one dataset; the paths declare {len(desired)}", hint="pass the one manifest to shard")
    want = desired[0]
    engine.check_shardable(want.dataset.provider)
    remotes = remotes_of(root)
    remote = remotes.get(want.dataset.remote)
    if remote is not None and remote.is_local:
        raise UsageError(
            f"remote '{remote.name}' is the embedded local emulator: shards in other processes cannot share it",
            hint=f"run `labelsync emulator {want.dataset.provider}` and point the remote's url at it, or use a real remote",
        )
    options = ApplyOptions(root=root, jobs=jobs, message=message or git_output(root, "log", "-1", "--format=%B"), source=git_source(root))
    manifest = want.manifest.rpartition(":")[0] or want.manifest
    try:
        manifest = (Path.cwd() / manifest).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        pass
    from labelsync.engine.progress import make_progress

    with Connections(remotes, root, jobs=jobs) as conns:
        conn = conns.get(want.dataset.remote)
        spec = engine.prepare(want, conn.provider, shards, options, make_progress(sys.stderr, ci=output.is_ci()),
                              manifest=manifest, remote_url=redact_url(conn.url or conn.remote.url), live_path=live)
    write_atomic(out, spec_json(spec))
    draft = spec.prepared.get("draft")
    click.echo(f"Prepared a sharded apply of {spec.dataset} in {shards} shard(s)" + (f" (draft #{draft})" if draft else "") + f"; wrote {out} and {live}.")
    click.echo(f"Next: labelsync apply {out} --shard I/{shards} for I = 1..{shards}, then labelsync apply {out} --finish")
    return 0


def _check_writable(out: Path) -> None:
    import os

    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}", hint="choose a writable path for -o") from exc
    if out.is_dir() or not os.access(parent, os.W_OK):
        raise UsageError(f"cannot write {out}", hint="choose a writable file path for -o")


def _shard(spec_path: Path, spec: Any, text: str, reports: Path, jobs: int, max_rps: float | None) -> int:
    from labelsync.engine.progress import make_progress
    from labelsync.engine.shardspec import parse_shard
    from labelsync.engine.shardtask import run_one

    index, count = parse_shard(text)
    if count != spec.shards:
        raise UsageError(f"--shard {text}: {spec_path} was prepared for {spec.shards} shards, not {count}", hint=f"pass --shard I/{spec.shards}")
    stats = run_one(spec_path, index, reports, jobs=jobs, rate=max_rps, events=make_progress(sys.stderr, ci=output.is_ci()))
    click.echo(f"Shard {index}/{count} of {spec.dataset}: {stats['files']} file(s), {stats['changes']} change(s) written, "
               f"{stats['uploaded']} file(s) uploaded; report in {reports}.")
    return 0


def _execute(spec_path: Path, spec: Any, executor: str, scheduler: str | None, reports: Path, jobs: int, max_rps: float | None) -> None:
    from labelsync.engine import executors
    from labelsync.engine.shardtask import shard_task

    calls = [(str(spec_path.resolve()), i, str(reports.resolve()), DEFAULT_JOBS, max_rps) for i in range(1, spec.shards + 1)]
    if executor == "dask":
        if not scheduler:
            raise UsageError("--executor dask needs --scheduler tcp://HOST:8786", hint="the address of your Dask scheduler")
        outcomes = executors.run_dask(shard_task, calls, scheduler, run=spec.run)
    else:
        outcomes = executors.run_local(shard_task, calls, jobs)
    executors.check_all(outcomes, spec.shards)
    output.err_line(f"All {spec.shards} shard(s) of {spec.dataset} reported; finishing.")


def _finish(spec_path: Path, spec: Any, reports: Path, jobs: int, message: str) -> int:
    from labelsync.engine import shards as engine
    from labelsync.engine.connect import Connections
    from labelsync.engine.progress import make_progress
    from labelsync.engine.shardtask import spec_root
    from labelsync.manifest.remotes import load_remotes
    from labelsync.plan.model import format_bytes

    root = spec_root(spec, spec_path)
    options = ApplyOptions(root=root, jobs=jobs, message=message)
    with Connections(load_remotes(root), root, jobs=jobs) as conns:
        result = engine.finish(spec, conns.get(spec.remote).provider, reports, options, make_progress(sys.stderr, ci=output.is_ci()))
    click.echo(f"Applied {result.name} in {spec.shards} shard(s): {result.files_registered} file(s), "
               f"{result.files_uploaded} uploaded ({format_bytes(result.bytes_uploaded)}); now at {str(result.revision)[:12]}.")
    return 0
