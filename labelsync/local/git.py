"""The two questions labelsync asks git (by running it): the top level, and tracked files.

This is the only module that runs ``git``; :mod:`labelsync.manifest` stays pure (no
subprocess) and is handed the answers. Git is advice here, never a reason to fail: a
missing ``git``, a directory outside a work tree or a failing command gives ``None`` / ``[]``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from labelsync.manifest.remotes import find_root as _find_root

TIMEOUT = 10.0


def toplevel(base: Path) -> Path | None:
    """``git rev-parse --show-toplevel`` run in ``base``; ``None`` when git gives no answer."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=base, capture_output=True, text=True, timeout=TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode == 0 and out.stdout.strip():
        return Path(out.stdout.strip())
    return None


def tracked_files(root: Path, path: str) -> list[str]:
    """The files under ``root/path`` that git tracks (``git ls-files -z -- path``); ``[]`` on any failure."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--", path], cwd=root, capture_output=True, timeout=TIMEOUT, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return []
    if out.returncode != 0:
        return []
    return [name for name in out.stdout.decode("utf-8", errors="replace").split("\0") if name]


def find_root(start: Path) -> Path:
    """:func:`labelsync.manifest.remotes.find_root` with git's top level as the last resort."""
    return _find_root(start, git_toplevel=toplevel)
