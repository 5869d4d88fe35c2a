"""Secrets: mask them in the runner's log and scrub them from everything the action writes.

Which values are secret:

* every environment variable whose name looks like a credential
  (:data:`labelsync.redact.SECRET_NAME`: ``TOKEN``, ``SECRET``, ``ACCESS_KEY``, ``PASSWORD``,
  ``API_KEY``, ``PRIVATE_KEY``, ...), which covers ``TENSORBAY_ACCESS_KEY``,
  ``DEEPEN_API_TOKEN``, ``GITHUB_TOKEN`` and the action's ``INPUT_GITHUB_TOKEN``;
* every variable that ``labelsync.yaml`` names as a remote's ``tokenEnv``, read with the
  manifest's own remotes loader (:func:`labelsync.manifest.remotes.read_remotes`).

Scrubbing is :func:`labelsync.redact.redact` (the one rule set) with those values added, so
the action hides exactly what the CLI hides, plus the runner's own tokens. Values shorter
than :data:`MIN_SECRET_LENGTH` are ignored. A multi-line value is masked line by line, as
the runner needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from labelsync.manifest.remotes import read_remotes
from labelsync.redact import MIN_SECRET_LENGTH, REPLACEMENT, SECRET_NAME, pieces, redact

__all__ = ["MIN_SECRET_LENGTH", "REPLACEMENT", "Scrubber", "secret_names"]


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
    """The ``tokenEnv`` of every remote ``path`` (a ``labelsync.yaml``) defines; problems
    are skipped (validation reports them, not the masker)."""
    try:
        remotes, _ = read_remotes(path.parent, environ={})
    except (OSError, ValueError):
        return set()
    return {remote.token_env for remote in remotes.values() if remote.token_env and not remote.builtin}


class Scrubber:
    """Replaces every secret value in a string with ``***``.

    Build it once per run from the environment; call it on every string before it is
    printed, written to a file, sent to GitHub or set as an output.
    """

    def __init__(self, values: Iterable[str]) -> None:
        # Only these values (and their lines), longest first; the environment is added by
        # :meth:`from_environ`, not read behind the caller's back.
        self.values: tuple[str, ...] = tuple(sorted(pieces(values), key=len, reverse=True))
        self._extra = self.values

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], config_files: Iterable[Path] = ()) -> Scrubber:
        """A scrubber for the secrets of ``environ`` (see :func:`secret_names`)."""
        return cls(environ[name] for name in sorted(secret_names(environ, config_files)))

    def __call__(self, text: str) -> str:
        if not text:
            return text
        return redact(text, self._extra, environ={})

    def mask_commands(self) -> list[str]:
        """``::add-mask::`` lines for the runner, one per secret value (or line of one).

        The runner consumes these lines and hides the values from the rest of the log; they
        must be printed before anything that could contain a secret.
        """
        from labelsync.github.annotations import escape_data

        return [f"::add-mask::{escape_data(value)}" for value in self.values]
