"""Step outputs (``$GITHUB_OUTPUT``) and the step summary (``$GITHUB_STEP_SUMMARY``).

Outputs are written in the multi-line form the runner reads::

    name<<ghadelim_<random hex>
    value
    ghadelim_<random hex>

with a fresh delimiter that is checked not to occur in the value, so a value can never end
early and inject another output. Both files are appended to, never truncated: other steps
of the same job share them.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path

from labelsync.errors import UsageError


def format_output(name: str, value: str) -> str:
    """The text that sets output ``name`` to ``value`` (any characters, any lines)."""
    if not name or any(ch in name for ch in "<\r\n="):
        raise UsageError(f"invalid output name {name!r}")
    while True:
        delimiter = f"ghadelim_{secrets.token_hex(8)}"
        if delimiter not in value:
            break
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def write_outputs(path: Path | None, values: Mapping[str, str]) -> None:
    """Append every ``name -> value`` to the outputs file; nothing when ``path`` is ``None``."""
    if path is None:
        return
    _append(path, "".join(format_output(name, value) for name, value in values.items()))


def append_summary(path: Path | None, markdown: str) -> None:
    """Append ``markdown`` (and a newline) to the step summary; nothing when ``path`` is ``None``."""
    if path is None:
        return
    _append(path, markdown if markdown.endswith("\n") else markdown + "\n")


def _append(path: Path, text: str) -> None:
    try:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc
