"""The local label format: one JSON Lines file per segment (the only format labelsync reads).

Format (also in ``docs/labels.md``)
===================================

A label file is UTF-8 text, one JSON object per line, one line per labelled data item.
Blank lines are ignored. Each object has these keys:

``remotePath`` (string, required)
    The data file's path relative to the segment's data directory, with ``/`` separators
    (for fusion segments ``<sensor>/<file name>``, e.g. ``lidar/0001.pcd``). It must name a
    file that the segment's data selection yields, and appear at most once per file.
``label`` (object, required)
    TensorBay label JSON (``api/tensorbay.md`` §4): keys are UPPER-CASE label types
    (``CLASSIFICATION``, ``BOX2D``, ``BOX3D``, ``POLYGON``, ``MULTI_POLYGON``, ``RLE``,
    ``POLYLINE2D``, ``MULTI_POLYLINE2D``, ``KEYPOINTS2D``, ``SENTENCE``, ``SEMANTIC_MASK``,
    ``INSTANCE_MASK``, ``PANOPTIC_MASK``); ``{}`` means "no label". Every type used must be
    declared in the dataset's catalog, and labels are checked against it.
``timestamp`` (number, optional)
    The item's timestamp in seconds, sent as the TensorBay ``timestamp``.

Masks are image files referenced by a path relative to *the label file*, instead of the
``checksum``/``fileSize`` descriptor that is sent::

    {"remotePath": "0001.jpg", "label": {"SEMANTIC_MASK": {"path": "masks/0001.png",
                                                          "info": [{"categoryId": 1}]}}}

``info`` is optional for SEMANTIC_MASK (items ``{"categoryId", "attributes"?}``) and
INSTANCE_MASK (items ``{"instanceId", "attributes"?}``) and required for PANOPTIC_MASK
(items ``{"instanceId", "categoryId", "attributes"?}``).

A data item with no line has no label (``{}``). ``labelsync pull`` writes this format with
:func:`write_labels`: sorted by ``remotePath``, one compact JSON object per line with sorted
keys, so the file is deterministic and diffs well in git.

This module reads and writes the format; :mod:`labelsync.local.labelcheck` validates it
against a catalog (every problem, with file:line:column and the JSON path).
"""

from __future__ import annotations

import contextlib
import difflib
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labelsync.errors import LocalDataError
from labelsync.local.jsonpos import format_path, locate
from labelsync.state import canonical_json

RECORD_KEYS = ("remotePath", "label", "timestamp")
MAX_LINE_CHARS = 16 * 1024 * 1024
"""The longest label line read (16 Mi characters): one data item's labels, not a dataset."""

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class LabelRecord:
    """One line of a label file: the label of one data item.

    ``label`` is the label JSON as written in the file (masks as ``{"path", "info"?}``);
    ``line`` is the 1-based line number it came from (0 when built in memory).
    """

    remote_path: str
    label: dict[str, Any] = field(default_factory=dict)
    timestamp: float | None = None
    line: int = 0

    def to_json(self) -> dict[str, Any]:
        """The line's JSON object (``timestamp`` left out when ``None``)."""
        out: dict[str, Any] = {"remotePath": self.remote_path, "label": self.label}
        if self.timestamp is not None:
            out["timestamp"] = self.timestamp
        return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_line(text: str) -> tuple[Any, tuple[str, int] | None]:
    """Parse one line: ``(value, None)`` or ``(None, (message, 1-based column))``.

    ``NaN``/``Infinity`` are refused (they are not JSON and cannot be sent).
    """
    if len(text) > MAX_LINE_CHARS:
        return None, (f"line longer than {MAX_LINE_CHARS} characters", 1)
    try:
        return json.loads(text, parse_constant=_reject_constant), None
    except json.JSONDecodeError as exc:
        return None, (f"invalid JSON: {exc.msg}", exc.colno)
    except ValueError as exc:  # NaN / Infinity
        return None, (f"invalid JSON: {exc}", 1)
    except RecursionError:
        return None, ("invalid JSON: nested too deeply", 1)


def is_number(value: Any) -> bool:
    """A JSON number (int or finite float, not bool)."""
    return (type(value) is int) or (type(value) is float and math.isfinite(value))


def remote_path_problem(value: Any) -> str | None:
    """Why ``value`` is not a valid remote path, or ``None``."""
    if not isinstance(value, str) or not value:
        return "'remotePath' must be a non-empty string"
    if value.startswith("/") or "\\" in value or any(p in ("", ".", "..") for p in value.split("/")):
        return f"'remotePath' {value!r} must be relative, with '/' separators and no '.', '..' or empty parts"
    return None


def record_problems(obj: Any) -> list[tuple[JsonPath, str, str | None]]:
    """Shape problems of one parsed line as ``(json_path, message, hint)`` (catalog not consulted)."""
    if not isinstance(obj, dict):
        kind = "a list" if isinstance(obj, list) else type(obj).__name__
        return [((), f"a label line must be a JSON object, not {kind}", None)]
    out: list[tuple[JsonPath, str, str | None]] = []
    for key in obj:
        if key not in RECORD_KEYS:
            near = difflib.get_close_matches(key, RECORD_KEYS, n=1)
            hint = f"did you mean {near[0]!r}?" if near else "expected remotePath, label, timestamp"
            out.append(((key,), f"unknown key {key!r}", hint))
    if "remotePath" not in obj:
        out.append(((), "missing 'remotePath'", "name the data file, relative to the data directory"))
    else:
        problem = remote_path_problem(obj["remotePath"])
        if problem:
            out.append((("remotePath",), problem, None))
    if "label" not in obj:
        out.append(((), "missing 'label'", 'write "label": {} for an item with no label'))
    elif not isinstance(obj["label"], dict):
        out.append((("label",), "'label' must be an object", None))
    if "timestamp" in obj and not is_number(obj["timestamp"]):
        out.append((("timestamp",), "'timestamp' must be a number (seconds)", None))
    return out


def read_text(path: Path) -> str:
    """A label file's text (UTF-8); :class:`LocalDataError` with the position otherwise."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise LocalDataError(
            f"label file {path} does not exist", hint="create it or fix labels.path"
        ) from None
    except OSError as exc:
        raise LocalDataError(f"cannot read label file {path}: {exc.strerror}") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise LocalDataError(
            f"{path}:{line}:{col}: not UTF-8 text", hint="save the label file as UTF-8"
        ) from None


def iter_lines(path: Path, text: str | None = None) -> Iterable[tuple[int, str]]:
    """``(line number, text)`` of the non-blank lines of ``text``, read from ``path`` when not
    given (raises :class:`LocalDataError` if unreadable)."""
    text = read_text(path) if text is None else text
    if text.startswith("\ufeff"):
        text = text[1:]
    for n, line in enumerate(text.split("\n"), 1):
        if line.strip():
            yield n, line


def read_labels(path: Path, text: str | None = None) -> dict[str, LabelRecord]:
    """Read a label file (or its ``text``, already read) into ``remotePath -> LabelRecord``
    (file order kept).

    Raises :class:`LocalDataError` with ``file:line:column`` on the first line that is not
    valid JSON, not a valid record (see the module docstring), or repeats a remotePath.
    The catalog is not consulted: use :func:`labelsync.local.labelcheck.check_labels` first
    to report every problem.
    """
    out: dict[str, LabelRecord] = {}
    for n, line in iter_lines(path, text):
        obj, err = parse_line(line)
        if err is not None:
            message, col = err
            raise LocalDataError(f"{path}:{n}:{col}: {message}", hint="one JSON object per line")
        problems = record_problems(obj)
        if problems:
            jpath, message, hint = problems[0]
            where = f" [{format_path(jpath)}]" if jpath else ""
            col = locate(line, jpath, key=message.startswith("unknown key"))
            raise LocalDataError(f"{path}:{n}:{col}: {message}{where}", hint=hint)
        rp = obj["remotePath"]
        if rp in out:
            raise LocalDataError(
                f"{path}:{n}:{locate(line, ('remotePath',))}: duplicate remotePath {rp!r} (first on line {out[rp].line}) [remotePath]",
                hint="merge the two lines into one",
            )
        ts = obj.get("timestamp")
        out[rp] = LabelRecord(rp, obj["label"], float(ts) if ts is not None else None, n)
    return out


def dump_labels(records: Iterable[LabelRecord] | Mapping[str, LabelRecord]) -> str:
    """The deterministic text of a label file: sorted by remotePath, canonical JSON lines."""
    values = records.values() if isinstance(records, Mapping) else records
    lines = sorted((r.remote_path, canonical_json(r.to_json())) for r in values)
    for a, b in zip(lines, lines[1:], strict=False):
        if a[0] == b[0]:
            raise LocalDataError(f"two labels for remotePath {a[0]!r}", hint="keep one label per data item")
    return "".join(line + "\n" for _, line in lines)


def write_labels(path: Path, records: Iterable[LabelRecord] | Mapping[str, LabelRecord]) -> bool:
    """Write ``records`` to ``path`` in the canonical form; return whether the file changed.

    The file is not touched when its bytes would not change. Otherwise it is replaced
    atomically (:func:`replace_bytes`). The directory must exist. Raises
    :class:`LocalDataError` when it cannot be written.
    """
    data = dump_labels(records).encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise LocalDataError(f"cannot read label file {path}: {exc.strerror}") from exc
    replace_bytes(path, data)
    return True


def replace_bytes(path: Path, data: bytes, *, check: Callable[[Path], list[Any]] | None = None) -> None:
    """Replace the file at ``path`` with ``data`` atomically, keeping its mode.

    The bytes go to a temporary file in the same directory, flushed to disk, then moved over
    ``path`` with :func:`os.replace`, so readers see the old or the new file, never a part.
    ``check(temporary file)``, when given, returns problems (objects whose ``str`` is one
    line); if there are any, ``path`` is left as it was and :class:`LocalDataError` names the
    first. The directory must exist.
    """
    directory = path.parent if str(path.parent) else Path(".")
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        mode = 0o644
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        problems = check(Path(tmp)) if check is not None else []
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise LocalDataError(
                f"the labels pulled into {path} would not validate: {problems[0]}{more}",
                hint="nothing was written; the remote holds labels the manifest's catalog does not allow",
            )
        os.replace(tmp, path)
        tmp = ""
    except OSError as exc:
        raise LocalDataError(
            f"cannot write {path}: {exc.strerror}",
            hint="check the directory exists and is writable",
        ) from exc
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
