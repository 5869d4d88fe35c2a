"""Reading and writing label files on disk for the format modules (the only I/O they share).

:func:`read_text` decodes UTF-8 (a BOM is dropped) and reports an undecodable byte as
``file:line:column``; :func:`write_text` replaces a file atomically and leaves it untouched
when its bytes would not change, so re-writing an unchanged label set changes nothing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from labelsync.errors import LocalDataError


def read_text(path: Path) -> str:
    """The file's text; :class:`LocalDataError` (one line, with a fix) when it cannot be read."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise LocalDataError(f"label file {path} does not exist", hint="create it or fix labels.path") from None
    except OSError as exc:
        raise LocalDataError(f"cannot read label file {path}: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise LocalDataError(f"{path}:{line}:{col}: not UTF-8 text", hint="save the file as UTF-8") from None
    return text[1:] if text.startswith("\ufeff") else text


def read_optional(path: Path) -> str | None:
    """The file's text, or ``None`` when it does not exist."""
    return read_text(path) if path.exists() else None


def write_text(path: Path, text: str) -> bool:
    """Write ``text`` (UTF-8) to ``path`` atomically; return whether the file changed.

    Unchanged bytes: the file is not touched. Otherwise a temporary file in the same
    directory (created with its parents) is fsynced and moved over ``path``.
    """
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise LocalDataError(f"cannot read label file {path}: {exc.strerror}") from exc
    tmp = ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            mode = path.stat().st_mode & 0o777
        except OSError:
            mode = 0o644
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        tmp = ""
    except OSError as exc:
        raise LocalDataError(
            f"cannot write label file {path}: {exc.strerror}", hint="check the directory is writable"
        ) from exc
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return True
