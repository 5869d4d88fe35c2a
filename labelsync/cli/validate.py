"""``labelsync validate [PATHS]``: check manifests, label files and data paths; change nothing.

Prints every problem as ``file:line:column: message [json.path] (hint: ...)`` and then a
one-line summary. Exit 0 when valid, 1 when not. ``--format json`` prints a versioned JSON
document instead (``{"version": 1, "valid": bool, "diagnostics": [{file, line, column,
message, path, hint, severity}], "summary": ...}``) that the GitHub Action turns into
annotations.

Also warns (exit code unchanged) when git tracks files under ``.labelsync/`` at the
repository root, with the command that fixes it.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

import click

from labelsync.cli import output
from labelsync.diagnostics import Diagnostic, has_errors, sort_key
from labelsync.errors import ManifestError

JSON_FORMAT_VERSION = 1
PATH_HINT = "paths are relative to the manifest file"
_DECLARED_PATH = re.compile(r"(\.path|\.timestamps|\.data)$")


def _hint(errors: list[Diagnostic]) -> str:
    """The closing hint; the note about relative paths only when a declared path is at fault."""
    if any(_DECLARED_PATH.search(d.path) for d in errors):
        return f"fix each line above; {PATH_HINT}"
    return "fix each line above"


@click.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="text: one line per problem; json: machine-readable diagnostics.",
)
@click.option("--no-local", is_flag=True, help="Skip the data directory and label file checks.")
def validate(paths: tuple[Path, ...], fmt: str, no_local: bool) -> None:
    """Validate manifests (default: the current directory) without contacting any remote."""
    from labelsync.local.git import find_root, tracked_files
    from labelsync.manifest.validate import STATE_DIR, run, tracked_state_warning

    targets = list(paths) or [Path.cwd()]
    root = find_root(targets[0])
    result = run(targets, check_local=not no_local, root=root)
    diags = result.diagnostics
    tracked = tracked_state_warning(root, tracked_files(root, STATE_DIR))
    if tracked is not None:  # a warning: the exit code stays what the manifests make it
        diags = sorted([*diags, tracked], key=sort_key)
    n_errors = sum(1 for d in diags if d.severity == "error")
    n_manifests = len(result.manifests)
    errors = [d for d in diags if d.severity == "error"]
    if errors:  # M counts the files the listed problems are in (label files and labelsync.yaml included)
        n_files = len({d.file for d in errors})
        summary = f"{n_errors} problem{'s' if n_errors != 1 else ''} found in {n_files} file(s)"
    else:
        summary = f"{n_manifests} manifest{'s' if n_manifests != 1 else ''} in {len(result.files)} file(s) valid"
    if fmt == "json":
        body = {
            "version": JSON_FORMAT_VERSION,
            "valid": not has_errors(diags),
            "diagnostics": [asdict(d) for d in diags],
            "summary": summary,
        }
        click.echo(output.redact(json.dumps(body, indent=2, ensure_ascii=False)))
        if has_errors(diags):
            raise click.exceptions.Exit(1)
        return
    if has_errors(diags):
        raise ManifestError(summary, diagnostics=diags, hint=_hint(errors))
    for d in diags:  # warnings only
        output.err_line(str(d))
    click.echo(summary)


COMMANDS: list[click.Command] = [validate]
