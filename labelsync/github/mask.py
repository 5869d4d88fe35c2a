"""Secrets: mask them in the runner's log and scrub them from everything the action writes.

Which values are secret:

* every environment variable whose name contains ``TOKEN``, ``SECRET``, ``ACCESS_KEY``,
  ``PASSWORD``, ``API_KEY`` or ``PRIVATE_KEY`` (this covers ``TENSORBAY_ACCESS_KEY``,
  ``DEEPEN_API_TOKEN``, ``GITHUB_TOKEN`` and the action's ``INPUT_GITHUB_TOKEN``);
* every variable that ``labelsync.yaml`` names as a remote's token variable (any string
  value under a key containing ``token`` or ``env`` that names a set variable).

Values shorter than :data:`MIN_SECRET_LENGTH` are ignored: masking ``"1"`` would mangle
every number in the log. A multi-line value is masked line by line, as the runner needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

MIN_SECRET_LENGTH = 6
SECRET_NAME = re.compile(r"TOKEN|SECRET|ACCESS_KEY|PASSWORD|API_KEY|PRIVATE_KEY", re.IGNORECASE)
REPLACEMENT = "***"


def secret_names(environ: Mapping[str, str], config_files: Iterable[Path] = ()) -> set[str]:
    """Names of the variables in ``environ`` whose values must never be shown.

    ``config_files`` are ``labelsync.yaml`` files to read remote token variable names from;
    missing or unreadable files are skipped (validation reports them, not the masker).
    """
    names = {name for name in environ if SECRET_NAME.search(name)}
    for path in config_files:
        names.update(name for name in _names_in_config(path) if name in environ)
    return names


def _names_in_config(path: Path) -> set[str]:
    try:
        doc = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError, ValueError):
        return set()
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and re.search(r"token|env", str(key), re.IGNORECASE):
                    found.add(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(doc)
    return found


class Scrubber:
    """Replaces every secret value in a string with ``***``.

    Build it once per run from the environment; call it on every string before it is
    printed, written to a file, sent to GitHub or set as an output.
    """

    def __init__(self, values: Iterable[str]) -> None:
        pieces: set[str] = set()
        for value in values:
            if len(value) >= MIN_SECRET_LENGTH:
                pieces.add(value)
            pieces.update(line for line in value.splitlines() if len(line.strip()) >= MIN_SECRET_LENGTH)
        # Longest first, so a secret that contains another is replaced whole.
        self.values: tuple[str, ...] = tuple(sorted(pieces, key=len, reverse=True))
        self._pattern = re.compile("|".join(re.escape(v) for v in self.values)) if self.values else None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], config_files: Iterable[Path] = ()) -> Scrubber:
        """A scrubber for the secrets of ``environ`` (see :func:`secret_names`)."""
        return cls(environ[name] for name in sorted(secret_names(environ, config_files)))

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(REPLACEMENT, text)

    def mask_commands(self) -> list[str]:
        """``::add-mask::`` lines for the runner, one per secret value (or line of one).

        The runner consumes these lines and hides the values from the rest of the log; they
        must be printed before anything that could contain a secret.
        """
        from labelsync.github.annotations import escape_data

        return [f"::add-mask::{escape_data(value)}" for value in self.values]
