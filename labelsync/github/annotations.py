"""Workflow commands: diagnostics as ``::error file=...,line=...,col=...::message``.

The runner parses these lines from the step's stdout. Message text ("data") and property
values are escaped as the runner expects: ``%`` -> ``%25``, ``\\r`` -> ``%0D``, ``\\n`` ->
``%0A`` in both, and additionally ``:`` -> ``%3A`` and ``,`` -> ``%2C`` in properties.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

LEVELS = {"error": "error", "warning": "warning", "notice": "notice", "info": "notice"}


def escape_data(text: str) -> str:
    """Escape the message part of a workflow command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value (``file=``, ``title=``) of a workflow command."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(level: str, message: str, **properties: str | int) -> str:
    """One ``::level k=v,...::message`` line; properties with empty/zero values are left out."""
    props = ",".join(
        f"{key}={escape_property(str(value))}" for key, value in properties.items() if value not in ("", 0, None)
    )
    head = f"::{level} {props}" if props else f"::{level}"
    return f"{head}::{escape_data(message)}"


def annotation_path(file: str, *, cwd: Path, workspace: Path | None) -> str:
    """``file`` (as a diagnostic names it, relative to ``cwd``) made relative to the
    repository root ``workspace``, which is what annotations need to land on the diff.
    Files outside the workspace (or no workspace known) are returned as given."""
    if not file:
        return ""
    absolute = Path(os.path.normpath(cwd / file))
    if workspace is not None:
        try:
            return absolute.relative_to(Path(os.path.normpath(workspace.resolve()))).as_posix()
        except ValueError:
            pass
        try:
            return absolute.resolve().relative_to(workspace.resolve()).as_posix()
        except ValueError:
            pass
    return file


def annotation_lines(
    diagnostics: Sequence[Mapping[str, Any]],
    *,
    cwd: Path,
    workspace: Path | None,
    scrub: Callable[[str], str] = str,
) -> list[str]:
    """One annotation line per diagnostic dict (``file``, ``line``, ``column``, ``message``,
    optional ``path``, ``hint``, ``severity``), in the order given, every text scrubbed."""
    lines = []
    for diag in diagnostics:
        message = str(diag.get("message", ""))
        if diag.get("path"):
            message += f" [{diag['path']}]"
        if diag.get("hint"):
            message += f" (hint: {diag['hint']})"
        level = LEVELS.get(str(diag.get("severity", "error")), "error")
        lines.append(
            workflow_command(
                level,
                scrub(message),
                file=scrub(annotation_path(str(diag.get("file", "")), cwd=cwd, workspace=workspace)),
                line=_int(diag.get("line")),
                col=_int(diag.get("column")),
                title="labelsync",
            )
        )
    return lines


def _int(value: Any) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0
