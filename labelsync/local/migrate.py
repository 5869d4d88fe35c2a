"""Rewrite label files that still use old names with the new ones (``labelsync migrate``).

:func:`migrate_label_set` takes one segment's labels as read and the renames the catalog
declares (:mod:`labelsync.renames`), and writes the labels that use an old name back in the
segment's own format:

* JSON Lines: only the lines whose label changes are rewritten (canonical JSON, the line's
  ``timestamp`` kept); every other line keeps its bytes, and so do line order and endings;
* COCO: a renamed category is renamed in ``categories`` (annotations keep their
  ``category_id``), then the writer of :mod:`labelsync.formats.coco` takes what else changed;
* the per-image formats (VOC, YOLO, labelme, KITTI) through their writers
  (:func:`labelsync.local.labelwrite.write_labels_as`), which rewrite only the files whose
  labels change.

Every file is replaced atomically; a file whose bytes would not change is not touched.
Reading the result back gives the labels with the renames followed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from labelsync.formats.coco import _indent_of
from labelsync.formats.files import read_text, write_text
from labelsync.local.labels import LabelRecord
from labelsync.local.labelsets import LabelSet
from labelsync.local.labelwrite import write_labels_as
from labelsync.local.renamed import follow_renames
from labelsync.renames import Renames
from labelsync.state import canonical_json

__all__ = ["migrate_label_set"]


def migrate_label_set(
    found: LabelSet,
    renames: Renames,
    *,
    data_dir: Path | None,
    options: Mapping[str, Path] | None = None,
    catalog: Mapping[str, Any] | None = None,
) -> tuple[int, list[Path]]:
    """Rewrite ``found``'s labels with ``renames`` followed: ``(items changed, files written)``."""
    followed = follow_renames(found, renames)
    if not followed.changed:
        return 0, []
    new = followed.labels.records
    if found.format == "tensorbay":
        return len(followed.changed), _jsonl(found.path, {rp: new[rp] for rp in followed.changed})
    written: list[Path] = []
    if found.format == "coco" and _coco_categories(found.path, renames):
        written.append(found.path)
    labels = {rp: r.label for rp, r in new.items()}
    for path in write_labels_as(found.format, found.path, labels, data_dir=data_dir, options=options, catalog=catalog):
        if path not in written:
            written.append(path)
    return len(followed.changed), written


def _jsonl(path: Path, changed: Mapping[str, LabelRecord]) -> list[Path]:
    """Rewrite the lines of ``changed`` (by their line number) in the JSON Lines file ``path``."""
    text = read_text(path)
    lines = text.split("\n")
    for record in changed.values():
        i = record.line - 1
        ending = "\r" if lines[i].endswith("\r") else ""
        lines[i] = canonical_json(record.to_json()) + ending
    return [path] if write_text(path, "\n".join(lines)) else []


def _coco_categories(path: Path, renames: Renames) -> bool:
    """Rename the categories of the COCO file ``path`` whose old name a rename declares and
    whose new name the file does not have yet; return whether the file changed."""
    old_to_new: dict[str, str] = {}
    for r in renames.types.values():
        old_to_new.update(r.categories)
    if not old_to_new:
        return False
    text = read_text(path)
    doc = json.loads(text)
    categories = doc.get("categories") if isinstance(doc, dict) else None
    if not isinstance(categories, list):
        return False
    names = {c.get("name") for c in categories if isinstance(c, dict)}
    changed = False
    for c in categories:
        if isinstance(c, dict) and c.get("name") in old_to_new and old_to_new[c["name"]] not in names:
            c["name"] = old_to_new[c["name"]]
            changed = True
    if not changed:
        return False
    indent = _indent_of(text)
    end = "\n" if text.endswith("\n") else ""
    return write_text(path, json.dumps(doc, ensure_ascii=False, indent=indent) + end)
