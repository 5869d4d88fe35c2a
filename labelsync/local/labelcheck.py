"""Check labels against a TensorBay catalog, reporting every problem at once.

:func:`check_label_set` checks a segment's labels as read once
(:class:`~labelsync.local.labelsets.LabelSet`, any label format) and returns its format
problems plus one :class:`~labelsync.diagnostics.Diagnostic` per catalog problem, located
by the label set (JSON Lines: the line and the column where the offending value starts;
other formats: the item's file or entry) with the JSON path inside the item's record
(``label.BOX2D[0].box2d.xmin``). :func:`check_labels` does the same for a JSON Lines file
on disk. They never raise for anything the labels can contain; only an unreadable file
(missing, not UTF-8) raises :class:`~labelsync.errors.LocalDataError`.

The per-label rules (:class:`~labelsync.local.labelrules.LabelChecker`, over a
:class:`~labelsync.local.catalogindex.CatalogIndex`):

* the line is a JSON object with ``remotePath``, ``label`` and optionally ``timestamp``;
  a remotePath appears once per file and, when ``known_paths`` is given, names a data file;
* every key of ``label`` is a TensorBay label type (§4) that the catalog declares;
* geometry has the shape of its type: BOX2D ``xmin/ymin/xmax/ymax`` numbers with
  ``xmin <= xmax`` and ``ymin <= ymax``; BOX3D ``translation {x,y,z}``, ``rotation {w,x,y,z}``,
  ``size {x,y,z}``; POLYGON at least 3 ``{x,y}`` points (each polygon of MULTI_POLYGON too);
  POLYLINE2D at least 2 points (each line of MULTI_POLYLINE2D too) and a ``beizerPointTypes``
  of ``L``/``C`` with one character per point (required when the catalog sets
  ``isBeizerCurve``); RLE non-negative integers; KEYPOINTS2D ``{x,y,v?}`` points, as many as
  the catalog's keypoints definition for the label's category says, ``v`` in 0..2 (TERNARY)
  or 0..1 (BINARY); SENTENCE ``sentence/spell/phone`` lists of ``{text, begin?, end?}``;
  CLASSIFICATION a category and/or attributes; masks ``{"path", "info"?}`` (see below);
* ``category`` is one of the catalog's category names for that type (exact match);
  ``instance`` is a string; unknown keys are errors;
* each attribute is declared for the type, globally or for the label's category through
  ``parentCategories``, and its value has a declared ``type`` (one or a list; ``array``
  items are checked against ``items``), is in ``enum`` and within ``minimum``/``maximum``;
* a mask ``path`` is relative to the label file, stays inside ``root`` when given, and the
  file exists; ``info`` items carry a declared ``categoryId`` (SEMANTIC, PANOPTIC) and/or an
  ``instanceId`` (INSTANCE, PANOPTIC), and declared attributes.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from pathlib import Path
from typing import Any

from labelsync.diagnostics import Diagnostic
from labelsync.local.catalogindex import GEOMETRY_KEY, LABEL_TYPES, CatalogIndex, JsonPath, compile_attribute
from labelsync.local.jsonpos import format_path
from labelsync.local.labelrules import LabelChecker
from labelsync.local.labelsets import LabelSet, read_jsonl


def check_label_set(
    labels: LabelSet,
    catalog: Mapping[str, Any],
    known_paths: Container[str] | None = None,
    *,
    root: Path | None = None,
) -> list[Diagnostic]:
    """Every problem of ``labels`` (its format problems first) against ``catalog``.

    ``known_paths``: the remote paths of the segment's data files; a label for any other
    path is an error (``None`` skips the check). ``root``: the repository root that mask
    paths (relative to the label file) must stay inside (``None``: only absolute paths are
    refused). Sorted by file, line and column.
    """
    out: list[Diagnostic] = list(labels.diagnostics)
    cat = CatalogIndex(catalog)
    base = labels.path if labels.path.is_dir() else labels.path.parent
    problems: list[tuple[JsonPath, str, str | None]] = []

    def add(path: JsonPath, message: str, hint: str | None = None) -> None:
        problems.append((path, message, hint))

    checker = LabelChecker(cat, add, base, root)
    for rp, record in labels.records.items():
        if known_paths is not None and rp not in known_paths:
            add(("remotePath",), f"no data file {rp!r} in the data directory", "label only files the segment's data selects")
        if record.label:
            checker.label(record.label, ("label",))
        if problems:
            for jpath, message, hint in problems:
                file, line, col = labels.where(rp, jpath, message.startswith("unknown key"))
                if labels.format != "tensorbay":
                    message = f"{rp}: {message}"
                out.append(Diagnostic(file, line, col, message, format_path(jpath), hint))
            problems.clear()
    out.sort(key=lambda d: (d.file, d.line, d.column))
    return out


def check_labels(
    label_file: Path,
    catalog: Mapping[str, Any],
    known_paths: Container[str] | None = None,
    *,
    root: Path | None = None,
    display: str | None = None,
) -> list[Diagnostic]:
    """Every problem of the JSON Lines ``label_file`` against ``catalog`` (TensorBay catalog
    JSON, §4.1): :func:`check_label_set` of :func:`~labelsync.local.labelsets.read_jsonl`.

    ``display``: the file name used in messages (default ``str(label_file)``). Raises
    :class:`LocalDataError` only when the file cannot be read.
    """
    file = display if display is not None else str(label_file)
    return check_label_set(read_jsonl(label_file, file), catalog, known_paths, root=root)


__all__ = ["GEOMETRY_KEY", "LABEL_TYPES", "CatalogIndex", "check_label_set", "check_labels", "compile_attribute"]
