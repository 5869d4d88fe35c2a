"""``labelsync plan``, ``labelsync apply`` and ``labelsync show``.

Thin: parse flags, load and resolve the manifests, call the engine, render, exit code.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from labelsync import phases
from labelsync.cli import output
from labelsync.cli.shards import shard_options
from labelsync.errors import Interrupted, StalePlanError, UsageError
from labelsync.providers.session import DEFAULT_JOBS

if TYPE_CHECKING:  # the modules each command needs are imported when it runs
    from labelsync.manifest.remotes import Remote
    from labelsync.manifest.validate import ManifestSet
    from labelsync.plan.model import Plan
    from labelsync.state import Desired

paths_argument = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))


def load_desired(paths: Sequence[Path], *, jobs: int = 8) -> tuple[list[Desired], Path]:
    """Load, validate and resolve the manifests under ``paths``: ``(desired datasets, root)``."""
    desired, root, _ = load_desired_set(paths, jobs=jobs)
    return desired, root


def load_desired_set(
    paths: Sequence[Path],
    *,
    jobs: int = 8,
    on_parsed: Callable[[ManifestSet, Any], Callable[[str], bool] | None] | None = None,
    before_hash: Callable[[ManifestSet, Any], None] | None = None,
) -> tuple[list[Desired], Path, ManifestSet]:
    """:func:`load_desired` plus the :class:`~labelsync.manifest.validate.ManifestSet` it came
    from: its ``remotes`` (``labelsync.yaml`` as validation read it: commands connect with
    these, never reading the file again) and its label sets, already read, for commands that
    write labels back.

    ``on_parsed(manifests, cache)`` runs once the manifests are parsed, before any data
    directory is scanned; it may return ``streamed(base)``, which says (True) that a data
    directory the cache knows nothing of is to be hashed by the cache in chunks (whose
    ``on_chunk`` sends them as they come) rather than inside the scan. ``before_hash(manifests,
    cache)`` runs once the manifests are validated, before any file is hashed (e.g. to set the
    cache's ``on_chunk``)."""
    from labelsync.desired import resolve_desired
    from labelsync.local.git import find_root
    from labelsync.local.hashcache import HashCache
    from labelsync.local.scan import Scans
    from labelsync.manifest import load_manifests

    targets = list(paths) or [Path(".")]
    for p in targets:
        if not p.exists():
            raise UsageError(f"{p}: no such file or directory", hint="pass manifest files or directories")
    root = find_root(targets[0])
    with HashCache(root) as cache:
        streamed: list[Callable[[str], bool]] = []

        def prehash(base: str) -> bool:
            return cache.has_none_under(base) and not any(wants(base) for wants in streamed)

        def parsed(found: ManifestSet) -> None:
            wants = on_parsed(found, cache) if on_parsed is not None else None
            if wants is not None:
                streamed.append(wants)

        # a large data tree the cache knows nothing of is hashed as it is scanned (validation scans)
        scans = Scans(prehash=prehash)
        with phases.phase("read manifests, labels"):
            manifests = load_manifests(targets, root=root, scans=scans, on_parsed=parsed)
        with phases.phase("scan, hash (desired state)"):
            if before_hash is not None:
                before_hash(manifests, cache)
            desired = resolve_desired(manifests, cache=cache, jobs=jobs)
    return desired, root, manifests


def remotes_of(root: Path) -> dict[str, Remote]:
    """The remotes of the repository at ``root`` (``labelsync.yaml``, built-ins, environment),
    for a command that loads no manifests (a command that does uses the
    :class:`~labelsync.manifest.validate.ManifestSet`'s ``remotes``)."""
    from labelsync.manifest.remotes import load_remotes

    return load_remotes(root)


def write_atomic(path: Path, text: str | Iterable[str]) -> None:
    """Write ``text`` (or its pieces, as they come) to ``path`` atomically (a temp file in the same directory, then rename).

    Raises :class:`UsageError` (one line) when the path cannot be written; nothing is left
    half-written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}", hint="choose a writable path for -o") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            if isinstance(text, str):
                fh.write(text)
            else:
                fh.writelines(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render(plan: Plan, fmt: str, *, verbose: bool = False) -> str:
    """The plan in ``fmt``. Text and markdown render the same values that ``-o`` saves (the
    serialised form round-trips exactly; tests/plan/test_render.py holds that)."""
    if fmt == "json":
        from labelsync.plan.serialize import dumps_plan

        return dumps_plan(plan)
    if fmt == "html":
        from labelsync.plan.render_html import render_html

        return render_html(plan)
    if fmt == "markdown":
        from labelsync.plan.render_markdown import render_markdown

        return render_markdown(plan, marker="<!-- labelsync-plan -->")
    from labelsync.plan.render_text import render_text

    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    return render_text(plan, verbose=verbose, style=click.style if colour else None)


@click.command()
@paths_argument
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), help="Save the plan (versioned JSON) for `apply PLANFILE`; with --format html, write the HTML report there instead.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json", "html"]), default="text", show_default=True, help="Output format (html: one self-contained visual report; needs labelsync[html]).")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 on drift: changes, or remote things kept because prune is off (0: none, 1: error).")
@click.option("--ignore-kept", is_flag=True, help="With --detailed-exitcode: things kept because prune is off are not drift.")
@click.option("--tag", default=None, help="Plan to tag the new commit (tensorbay); an existing tag blocks the plan.")
@click.option("-v", "--verbose", is_flag=True, help="List every change instead of folding long lists.")
def plan(
    paths: tuple[Path, ...], out: Path | None, fmt: str, detailed_exitcode: bool, ignore_kept: bool, tag: str | None, verbose: bool
) -> int:
    """Show what apply would change on the remote to match the manifests.

    \b
    Examples:
      labelsync plan examples/quickstart
      labelsync plan -o plan.json --format markdown --detailed-exitcode
      labelsync plan --format html -o plan.html
    """
    from labelsync.engine.apply import check_applicable
    from labelsync.engine.connect import Connections
    from labelsync.engine.planning import make_plan
    from labelsync.plan.model import format_bytes
    from labelsync.plan.serialize import iter_plan_json

    desired, root, manifests = load_desired_set(paths)
    with Connections(manifests.remotes, root) as conns:
        the_plan = make_plan(desired, conns, root, tag=_tag_option(tag))
    if fmt == "html" and out is not None:
        report = render(the_plan, fmt)
        write_atomic(out, report)
        click.echo(the_plan.summary_line())
        output.err_line(f"Wrote the HTML report to {out} ({format_bytes(len(report.encode('utf-8')))}).")
    else:
        if out is not None:
            write_atomic(out, iter_plan_json(the_plan))  # written as encoded: never held as text
        click.echo(render(the_plan, fmt, verbose=verbose), nl=False)
        if out is not None and fmt != "json":
            output.err_line(f"Saved the plan to {out}. Apply exactly this plan with: labelsync apply {out}")
    check_applicable(the_plan)  # a blocked plan is an error (exit 1 with its reasons), not "changes"
    drift = the_plan.has_changes or (not ignore_kept and any(the_plan.kept().values()))
    return 2 if detailed_exitcode and drift else 0


def _is_plan_file(paths: tuple[Path, ...]) -> bool:
    return len(paths) == 1 and paths[0].is_file() and paths[0].suffix == ".json"


@click.command()
@paths_argument
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@click.option("-j", "--jobs", type=click.IntRange(1, 256), default=DEFAULT_JOBS, show_default=True, help="Concurrent uploads.")
@click.option("-m", "--message", default="", help="Commit message (default: the git commit being applied).")
@click.option("--tag", default=None, help="Tag the new commit (providers with commits).")
@click.option("-v", "--verbose", is_flag=True, help="List every change instead of folding long lists.")
@shard_options
def apply(paths: tuple[Path, ...], auto_approve: bool, jobs: int, message: str, tag: str | None, verbose: bool, **sharding: Any) -> int:
    """Change the remote to match the manifests (or apply a saved plan file exactly).

    \b
    Examples:
      labelsync apply examples/quickstart --auto-approve
      labelsync plan -o plan.json && labelsync apply plan.json
      labelsync apply --prepare -o shards.json --shards 4 .   (sharded: docs/scaling.md)
    """
    from labelsync.cli import shards

    sharded = shards.run(paths, jobs=jobs, message=message, tag=tag, **sharding)
    if sharded is not None:
        return sharded

    from labelsync.engine.apply import apply_plan, check_applicable
    from labelsync.engine.connect import Connections
    from labelsync.engine.planning import git_source, make_plan
    from labelsync.engine.progress import make_progress
    from labelsync.engine.saved import check_changes, check_sources, read_saved_plan
    from labelsync.plan.model import format_bytes
    from labelsync.providers.session import ApplyOptions

    if _is_plan_file(paths):
        origin = str(paths[0])
        with phases.phase("read the saved plan"):
            the_plan = read_saved_plan(paths[0], origin=origin)  # line by line: never held as text
        root = _plan_root(the_plan)
        check_sources(the_plan, root, origin=origin)  # untrusted input: before anything is read
        _check_plan_tag(the_plan, _tag_option(tag), origin)
        # the plan's content is sent while the tree is re-hashed and checked (engine/presend.py)
        early = Connections(remotes_of(root), root, jobs=jobs)
        options = ApplyOptions(root=root, jobs=jobs, message=message or _git_message(root), source=the_plan.source or git_source(root))
        events = make_progress(sys.stderr, ci=output.is_ci())
        presend = _start_presend(the_plan, early, options, events)
        try:
            with phases.phase("desired state (all)"):
                desired, remotes = _saved_plan_desired(the_plan, root)
            if remotes != early.remotes:  # the manifests declare other remotes: apply afresh
                if presend is not None:
                    presend.cancel(None)
                    presend = None
                early.close()
                early = Connections(remotes, root, jobs=jobs)
        except BaseException as exc:
            if presend is not None:
                presend.cancel(exc)
            early.close()
            raise
        saved = True
    else:
        started: list[Any] = []  # [connections, options, events, overlap]

        def set_up(manifests: ManifestSet) -> None:
            from labelsync.cli.overlap_start import start_overlap

            conns = Connections(manifests.remotes, manifests.root, jobs=jobs)
            opts = ApplyOptions(root=manifests.root, jobs=jobs, message=message or _git_message(manifests.root), source=git_source(manifests.root))
            evts = make_progress(sys.stderr, ci=output.is_ci())
            overlap = None
            if auto_approve and len(manifests) == 1:
                with phases.phase("connect (overlap)"):
                    overlap = start_overlap(manifests, conns, opts, evts, _tag_option(tag))
            started.extend([conns, opts, evts, overlap])

        def on_parsed(manifests: ManifestSet, cache: Any) -> Callable[[str], bool] | None:
            from labelsync.cli.overlap_start import cold_tree

            # a cold tree that the scan would hash itself is looked up first: a new dataset's
            # is left to the cache, whose chunks are sent as they are hashed
            if not (auto_approve and len(manifests) == 1 and cold_tree(manifests, cache)):
                return None
            set_up(manifests)
            return started[3].streams if started[3] is not None else None

        def before_hash(manifests: ManifestSet, cache: Any) -> None:
            from labelsync.cli.overlap_start import cold_tree

            if not started:
                set_up(manifests)
            overlap = started[3]
            if overlap is not None:
                cache.on_chunk = overlap.feed  # new content is sent as it is hashed (engine/overlap.py)
                if cold_tree(manifests, cache):
                    overlap.start()  # the tree will be hashed: the probe and the open run beside it

        try:
            with phases.phase("desired state (all)"):
                desired, root, manifests = load_desired_set(paths, on_parsed=on_parsed, before_hash=before_hash)
        except BaseException as exc:
            if started and started[3] is not None:
                started[3].cancel(exc)
            if started:
                started[0].close()
            raise
        early, options, events, presend = started
        saved = False
    with early as conns:
        try:
            if not saved:
                if presend is not None and not presend.engaged():
                    presend = None  # the dataset exists (or nothing was hashed): the plain apply
                lives = {(presend.plan.remote, presend.plan.name): presend.live} if presend is not None else None
                with phases.phase("plan (remote state, diff)"):
                    the_plan = make_plan(desired, conns, root, tag=_tag_option(tag), lives=lives)
                with phases.phase("render the plan"):
                    click.echo(render(the_plan, "text", verbose=verbose), nl=False)
                if presend is not None and the_plan.has_changes and not any(d.blocked for d in the_plan.datasets):
                    with phases.phase("apply: adopt the plan (overlap)"):
                        presend.adopt(next(d for d in the_plan.datasets if d.name == presend.plan.name and d.remote == presend.plan.remote))
        except BaseException as exc:
            if presend is not None:
                presend.cancel(exc)
            raise
        try:
            if presend is not None and not the_plan.has_changes:
                presend.cancel(None)
            if not the_plan.has_changes:
                if saved:
                    click.echo("The plan has no changes; nothing to apply.")
                return 0
            check_applicable(the_plan)
            if saved:
                with phases.phase("check the saved plan"):
                    check_changes(the_plan, desired, conns, root, origin=origin)
        except BaseException as exc:
            if presend is not None:
                presend.cancel(exc)
            raise
        if not auto_approve and not saved:
            _confirm()
        try:
            with phases.phase("apply"):
                results = apply_plan(the_plan, conns, options, events, presend=presend)
        except KeyboardInterrupt:
            raise Interrupted(
                "apply interrupted; what was sent is kept on the remote (the open draft, or the upload session)",
                hint="run the same apply again to resume",
            ) from None
    for r in results:
        extra = " (resumed an interrupted apply)" if r.resumed else ""
        files = f"{r.files_uploaded} file(s) / {format_bytes(r.bytes_uploaded)} uploaded"
        if r.files_registered:
            files = f"{r.files_registered} file(s) written, {files}"
        click.echo(f"Applied {r.name}: {r.changes_applied} change(s), {files}; now at {str(r.revision)[:12]}{extra}.")
        if r.not_sent:
            click.echo(f"  not sent: {'; '.join(r.not_sent)}")
        for m in r.messages:
            click.echo(f"  note: {m}")
    return 0


def _start_presend(the_plan: Plan, conns: Any, options: Any, events: Any) -> Any:
    """The pre-send of a saved plan's content (:mod:`labelsync.engine.presend`), or None."""
    from labelsync.engine.presend import start_presend

    if any(dp.blocked for dp in the_plan.datasets):
        return None  # refused below: nothing is opened for it
    sessions = {}
    for dp in the_plan.datasets:
        if dp.has_changes and dp.remote in conns.remotes and not dp.blocked:
            sessions[dp.name] = conns.get(dp.remote).provider.session(dp, options, events)
            break  # the first dataset only: one lock held ahead of the check
    return start_presend(the_plan, sessions)


def _tag_option(tag: str | None) -> str | None:
    if tag is not None and not tag.strip():
        raise UsageError("--tag must not be empty", hint="pass a tag name, e.g. --tag v1")
    return tag


def _check_plan_tag(the_plan: Plan, tag: str | None, origin: str) -> None:
    """``apply PLANFILE --tag T`` must ask for the tag the plan was made with: the tag is part
    of the reviewed plan, and was checked against the remote when planning."""
    if tag is None:
        return
    planned = {d.tag for d in the_plan.datasets if d.has_changes and d.tag is not None}
    if planned != {tag}:
        has = f"tags with {', '.join(sorted(planned))!s}" if planned else "has no tag"
        raise UsageError(
            f"{origin} {has}: the tag is part of the plan, so --tag {tag} cannot be added when applying it",
            hint=f"plan with the tag: labelsync plan --tag {tag} -o FILE (or apply without --tag)",
        )


def _confirm() -> None:
    if not sys.stdin.isatty():
        raise UsageError(
            "refusing to apply without confirmation: standard input is not a terminal",
            hint="review the plan above, then pass --auto-approve (or apply a saved plan file)",
        )
    if not click.confirm("Apply these changes?", default=False):
        raise UsageError("apply cancelled; nothing was changed")


def _git_message(root: Path) -> str:
    """The message of the git commit being applied (``""`` outside git)."""
    from labelsync.engine.planning import git_output

    return git_output(root, "log", "-1", "--format=%B")


def _plan_root(the_plan: Plan) -> Path:
    """The repository a saved plan applies to: the one it was made in when that directory
    exists here, else the repository of the working directory (a plan made in another
    checkout of the same repository, e.g. by a pull-request job)."""
    from labelsync.local.git import find_root

    recorded = Path(the_plan.root) if the_plan.root else None
    if recorded is not None and recorded.is_dir():
        return recorded
    return find_root(Path.cwd())


def _saved_plan_desired(the_plan: Plan, root: Path) -> tuple[list[Desired], dict[str, Remote]]:
    """The desired state now of the datasets a saved plan names, and the remotes; refuses the
    plan when its manifests are missing here or its local desired state changed since it was
    made."""
    from labelsync.engine.saved import check_digests, manifest_path

    unnamed = [d.name for d in the_plan.datasets if not d.manifest]
    if unnamed:
        raise StalePlanError(
            f"the plan does not say which manifest declares dataset(s) {', '.join(unnamed)}, so it cannot be checked",
            hint="run `labelsync plan -o FILE` again with this version of labelsync",
        )
    manifests = sorted({manifest_path(d, root) for d in the_plan.datasets})
    missing = [str(m) for m in manifests if not m.is_file()]
    if missing:
        raise StalePlanError(
            f"plan is stale: its manifest {missing[0]} does not exist here",
            hint="apply the plan from the repository it was made in, or plan again",
        )
    if not manifests:
        return [], remotes_of(root)
    desired, _, loaded = load_desired_set(manifests)
    check_digests(the_plan, desired)
    return desired, loaded.remotes


@click.command()
@click.argument("planfile", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json", "html"]), default="text", show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="List every change instead of folding long lists.")
def show(planfile: Path, fmt: str, verbose: bool) -> int:
    """Render a saved plan file.

    \b
    Example:
      labelsync show plan.json --format markdown
    """
    from labelsync.engine.saved import read_saved_plan

    the_plan = read_saved_plan(planfile, origin=str(planfile))
    click.echo(render(the_plan, fmt, verbose=verbose), nl=False)
    return 0


COMMANDS: list[click.Command] = [plan, apply, show]
