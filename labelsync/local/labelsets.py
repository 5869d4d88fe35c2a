"""A segment's labels read once per command, in any label format, shared by validation and desired.

:func:`read_label_set` reads a segment's declared labels (``labels: {format, path, ...}``)
into a :class:`LabelSet`: ``remotePath -> LabelRecord`` plus one diagnostic per format
problem (``file:line:column``), the format's own catalog (its class list, for
``catalog: {from: labels}``), a fingerprint of what was parsed, and a locator that turns a
problem in one item's label into ``file:line:column``:

* ``tensorbay`` (JSON Lines, the default): every line is parsed once; a line that is not
  JSON or not a record, or repeats a remotePath, is a diagnostic and is skipped. Problems
  in a label are located at the column where the offending value starts on its line.
* the other formats go through :mod:`labelsync.formats`; a label's problems are located at
  its file (per-image formats) or its image entry (COCO).

:class:`LabelReads` remembers each read for the rest of the run (like
:class:`~labelsync.local.scan.Scans`), so ``plan`` parses a label file once: validation
checks the result, and desired-state building uses the same records. It never notices later
changes on disk. Unreadable input (a missing file, bytes that are not UTF-8) raises
:class:`~labelsync.errors.LocalDataError`, which is not remembered.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labelsync.diagnostics import Diagnostic, format_path
from labelsync.local.jsonpos import locate
from labelsync.local.labels import JsonPath, LabelRecord, iter_lines, parse_line, read_text, record_problems

DEFAULT_FORMAT = "tensorbay"

Locator = Callable[[str, JsonPath, bool], tuple[str, int, int]]
"""``(remotePath, JSON path inside the line's record, at the key?) -> (file, line, column)``."""


@dataclass
class LabelSet:
    """The labels of one segment as read (see the module docstring)."""

    format: str
    path: Path
    """``labels.path`` resolved: the file (tensorbay, coco) or directory (the others)."""
    display: str
    records: dict[str, LabelRecord] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    catalog: dict[str, Any] | None = None
    """The catalog from the format's own class list (COCO categories, YOLO names, the
    classes found), ``None`` until asked for tensorbay (:meth:`own_catalog`)."""
    fingerprint: str = ""
    """SHA-256 of what was parsed: the JSONL text, or the bytes of every file below the
    foreign format's labels path and option paths."""
    locator: Locator | None = None

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    @property
    def labels(self) -> dict[str, dict[str, Any]]:
        return {rp: r.label for rp, r in self.records.items()}

    def where(self, remote_path: str, json_path: JsonPath = (), key: bool = False) -> tuple[str, int, int]:
        """``(file, line, column)`` of ``json_path`` (``("label", ...)``) in the item's record."""
        if self.locator is None:
            return self.display, 1, 1
        return self.locator(remote_path, json_path, key)

    def own_catalog(self) -> dict[str, Any]:
        """The format's catalog; for tensorbay the categories the labels use, per type."""
        if self.catalog is None:
            from labelsync.formats.tensorbay import catalog_of

            self.catalog = catalog_of(self.labels)
        return self.catalog


def read_jsonl(path: Path, display: str, text: str | None = None) -> LabelSet:
    """Parse a JSON Lines label file once (every line; see the module docstring)."""
    text = read_text(path) if text is None else text
    out = LabelSet(DEFAULT_FORMAT, path, display, fingerprint=hashlib.sha256(text.encode()).hexdigest())
    lines: dict[str, tuple[int, str]] = {}
    for n, line in iter_lines(path, text):
        obj, err = parse_line(line)
        if err is not None:
            message, col = err
            out.diagnostics.append(Diagnostic(display, n, col, message, "", "one JSON object per line"))
            continue
        problems = list(record_problems(obj))
        found = obj.get("remotePath") if isinstance(obj, dict) else None
        rp = found if isinstance(found, str) else None
        duplicate = rp is not None and rp in lines
        if rp is not None and duplicate:
            problems.append((("remotePath",), f"duplicate remotePath {rp!r} (first on line {lines[rp][0]})",
                             "merge the two lines into one"))
        for jpath, message, hint in sorted(problems, key=lambda p: locate(line, p[0], key=p[1].startswith("unknown key"))):
            col = locate(line, jpath, key=message.startswith("unknown key"))
            out.diagnostics.append(Diagnostic(display, n, col, message, format_path(jpath), hint))
        if duplicate or rp is None or not isinstance(obj.get("label"), dict):
            continue
        # a line with other problems (reported above) is still checked against the catalog
        lines[rp] = (n, line)
        ts = obj.get("timestamp")
        out.records[rp] = LabelRecord(rp, obj["label"], float(ts) if isinstance(ts, int | float) else None, n)

    def locator(remote_path: str, jpath: JsonPath, key: bool) -> tuple[str, int, int]:
        n, line = lines.get(remote_path, (1, ""))
        return display, n, locate(line, jpath, key=key) if line else 1

    out.locator = locator
    return out


def read_foreign(
    fmt: str, path: Path, display: str, *, data_dir: Path | None, options: Mapping[str, Path]
) -> LabelSet:
    """Read labels in a foreign format through :mod:`labelsync.formats` (see :func:`read_label_set`)."""
    from labelsync import formats

    module = formats.get(fmt).module
    kwargs: dict[str, Any] = {"display": display}
    if fmt == "yolo":
        kwargs["images_dir"] = data_dir
        kwargs["names_file"] = options.get("classes")
    elif fmt == "labelme":
        kwargs["data_dir"] = data_dir
    elif fmt == "kitti":
        kwargs["calib_dir"] = options.get("calib")
    parsed = module.read(path, **kwargs)
    catalog = parsed.catalog
    if catalog is None and parsed.ok:
        catalog = _catalog_of(fmt, module, path, options, data_dir)
    out = LabelSet(fmt, path, display, diagnostics=list(parsed.diagnostics), catalog=catalog)
    out.records = {rp: LabelRecord(rp, label) for rp, label in parsed.labels.items()}
    out.fingerprint = _files_digest(fmt, [path, *options.values()])
    origin = parsed.origin
    item_at = parsed.locate
    object_at = parsed.locate_object

    def locator(remote_path: str, jpath: JsonPath, key: bool) -> tuple[str, int, int]:
        file = origin.get(remote_path, display)
        if object_at is not None and len(jpath) >= 3 and jpath[0] == "label" and isinstance(jpath[2], int):
            found = object_at(remote_path, str(jpath[1]), jpath[2], tuple(jpath[3:]))
            if found is not None:
                return file, found[0], found[1]
        if item_at is not None:
            line, col = item_at(remote_path)
            return file, line, col
        return file, 1, 1

    out.locator = locator
    return out


def _files_digest(fmt: str, paths: list[Path]) -> str:
    """SHA-256 over the path and bytes of every file below ``paths`` (files or directories):
    what a foreign format's labels were read from (hashing is far cheaper than parsing)."""
    digest = hashlib.sha256(f"labelsync labels v1\0{fmt}\0".encode())
    for top in paths:
        files = sorted(p for p in top.rglob("*") if p.is_file()) if top.is_dir() else [top]
        for file in files:
            try:
                data = file.read_bytes()
            except OSError:
                data = b"\0unreadable"
            digest.update(f"\0{file}\0{len(data)}\0".encode())
            digest.update(data)
    return digest.hexdigest()


def _catalog_of(fmt: str, module: Any, path: Path, options: Mapping[str, Path], data_dir: Path | None) -> dict[str, Any]:
    if fmt == "yolo":
        result: dict[str, Any] = module.catalog_from(path, names_file=options.get("classes"))
    elif fmt == "kitti":
        result = module.catalog_from(path, calib_dir=options.get("calib"))
    elif fmt == "labelme":
        result = module.catalog_from(path, data_dir=data_dir)
    else:
        result = module.catalog_from(path)
    return result


def read_label_set(
    fmt: str, path: Path, *, display: str, data_dir: Path | None = None, options: Mapping[str, Path] | None = None
) -> LabelSet:
    """Read a segment's labels: ``fmt`` is the format's name, ``path`` the resolved
    ``labels.path``, ``data_dir`` the segment's data directory (YOLO images, labelme image
    paths), ``options`` the format's resolved extra paths (``classes`` for YOLO, ``calib``
    for KITTI). Raises :class:`~labelsync.errors.LocalDataError` for unreadable input."""
    if fmt == DEFAULT_FORMAT:
        return read_jsonl(path, display)
    return read_foreign(fmt, path, display, data_dir=data_dir, options=options or {})


class LabelReads:
    """Label sets read in this run, by ``(format, path, data dir, options)`` (see the module docstring)."""

    def __init__(self) -> None:
        self._memo: dict[tuple[Any, ...], LabelSet] = {}

    def read(
        self, fmt: str, path: Path, *, display: str, data_dir: Path | None = None,
        options: Mapping[str, Path] | None = None,
    ) -> LabelSet:
        """:func:`read_label_set`, remembered."""
        opts = tuple(sorted((k, os.path.abspath(v)) for k, v in (options or {}).items()))
        key = (fmt, os.path.abspath(path), os.path.abspath(data_dir) if data_dir is not None else None, opts)
        if key not in self._memo:
            self._memo[key] = read_label_set(fmt, path, display=display, data_dir=data_dir, options=options)
        return self._memo[key]




def read_segment_labels(
    reads: LabelReads,
    root: Path,
    base: Path,
    *,
    fmt: str,
    path: str,
    options: Mapping[str, str],
    data_path: str | None,
    display: Callable[[Path], str],
) -> LabelSet:
    """A segment's declared labels (``labels.path`` and options relative to ``base``, the
    manifest's directory; ``data_path`` its ``data.path``), read through ``reads``.

    Raises :class:`~labelsync.errors.LocalDataError` for a path outside ``root`` or
    unreadable input."""
    from labelsync.local.paths import resolve_inside

    label_path = resolve_inside(root, base, path)
    opts = {k: resolve_inside(root, base, v) for k, v in options.items()}
    data_dir = resolve_inside(root, base, data_path) if data_path is not None else None
    return reads.read(fmt, label_path, display=display(label_path), data_dir=data_dir, options=opts)


def merge_catalogs(catalogs: list[Mapping[str, Any]]) -> dict[str, Any]:
    """One TensorBay catalog from several: per label type, categories, attributes and
    keypoint definitions are united (by name; the first definition of a name wins), other
    keys come from the first catalog that has the type."""
    out: dict[str, dict[str, Any]] = {}
    for catalog in catalogs:
        for t, sub in catalog.items():
            mine = out.setdefault(t, {})
            for key, value in (sub or {}).items():
                if key in ("categories", "attributes"):
                    have = mine.setdefault(key, [])
                    names = {c.get("name") for c in have}
                    have.extend(dict(c) for c in value if c.get("name") not in names)
                elif key == "keypoints":
                    have = mine.setdefault(key, [])
                    have.extend(dict(k) for k in value if k not in have)
                else:
                    mine.setdefault(key, value)
    return out


def effective_catalog(declared: Mapping[str, Any], from_labels: bool, sets: list[LabelSet]) -> dict[str, Any]:
    """The dataset's catalog: ``declared`` (``catalog_json``), over the catalogs of the label
    sets when the manifest says ``catalog: {from: labels}`` (a declared type replaces the
    type taken from the labels)."""
    if not from_labels:
        return dict(declared)
    derived = merge_catalogs([s.own_catalog() for s in sets])
    return {**derived, **declared}


__all__ = ["DEFAULT_FORMAT", "LabelReads", "LabelSet", "effective_catalog", "merge_catalogs", "read_jsonl",
           "read_label_set", "read_segment_labels"]
