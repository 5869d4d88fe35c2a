"""Rewrite label files that still use old names with the new ones (``labelsync migrate``).

:func:`migrate_label_set` takes one segment's labels as read and the renames the catalog
declares (:mod:`labelsync.renames`), and writes the labels that use an old name back in the
segment's own format:

* JSON Lines: only the lines whose label changes are rewritten (canonical JSON, the line's
  ``timestamp`` kept); every other line keeps its bytes, and so do line order and endings;
* COCO: a renamed category is renamed in ``categories`` (annotations keep their
  ``category_id``), then the writer of :mod:`labelsync.formats.coco` takes what else changed;
* YOLO: a renamed category is renamed in the class-names file (``classes.txt`` lines, or
  the ``names`` of ``data.yaml``, only the name's characters change), so the label files,
  which hold class ids, keep their bytes;
* the other per-image formats (VOC, labelme, KITTI) through their writers
  (:func:`labelsync.local.labelwrite.write_labels_as`), which rewrite only the files whose
  labels change.

Every file is replaced atomically; a file whose bytes would not change is not touched. The
migration of a segment is all or nothing: when any write fails (an image whose size cannot
be read, a full disk), every file it had already replaced gets its old bytes back and any
file it created is removed, then the error is raised. Reading the result back gives the
labels with the renames followed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
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
    options = dict(options or {})
    names = _yolo_names_file(found.path, options) if found.format == "yolo" else None
    with _all_or_nothing([found.path, *([names] if names else [])]):
        if found.format == "coco" and _coco_categories(found.path, renames):
            written.append(found.path)
        if names is not None and _yolo_names(names, renames):
            written.append(names)
            options["classes"] = names
        labels = {rp: r.label for rp, r in new.items()}
        for path in write_labels_as(found.format, found.path, labels, data_dir=data_dir, options=options, catalog=catalog):
            if path not in written:
                written.append(path)
    return len(followed.changed), written


def _files(path: Path) -> dict[Path, bytes]:
    if path.is_file():
        return {path: path.read_bytes()}
    return {p: p.read_bytes() for p in path.rglob("*") if p.is_file()} if path.is_dir() else {}


@contextmanager
def _all_or_nothing(targets: list[Path]) -> Iterator[None]:
    """On an exception, give every file under ``targets`` its old bytes back and remove the
    files that were created, then re-raise."""
    saved: dict[Path, bytes] = {}
    for target in targets:
        saved.update(_files(target))
    try:
        yield
    except BaseException:
        now: dict[Path, bytes] = {}
        for target in targets:
            now.update(_files(target))
        for path in now:
            if path not in saved:
                path.unlink(missing_ok=True)
        for path, data in saved.items():
            if now.get(path) != data:
                write_bytes_back(path, data)
        raise


def write_bytes_back(path: Path, data: bytes) -> None:
    """Restore ``path`` to ``data`` atomically (the old bytes of a rolled-back migration)."""
    if _utf8(data):
        write_text(path, data.decode("utf-8"))
    else:
        _raw(path, data)


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _raw(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.restore.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _category_renames(renames: Renames) -> dict[str, str]:
    old_to_new: dict[str, str] = {}
    for r in renames.types.values():
        old_to_new.update(r.categories)
    return old_to_new


def _yolo_names_file(labels_dir: Path, options: Mapping[str, Path]) -> Path | None:
    from labelsync.formats.yolo import find_names

    return options.get("classes") or find_names(labels_dir)


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_ ./-]*[A-Za-z0-9_.]|[A-Za-z_]")
_YAML_WORDS = frozenset(("true", "false", "yes", "no", "on", "off", "null", "y", "n"))
_TOKEN = re.compile(r"""'(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|[^,\]\}\n#]*[^,\]\}\n# ]""")


def _yolo_names(path: Path, renames: Renames) -> bool:
    """Rename the class names of the YOLO names file ``path`` that a rename declares (and
    whose new name is not there yet), changing only the names' characters; whether it changed."""
    from labelsync.formats.yolo import names_from

    old_to_new = _category_renames(renames)
    names = names_from(path)
    todo = {i: old_to_new[n] for i, n in enumerate(names) if n in old_to_new and old_to_new[n] not in names}
    if not todo:
        return False
    text = read_text(path)
    if path.suffix not in (".yaml", ".yml"):
        lines = text.split("\n")
        index = [i for i, line in enumerate(lines) if line.strip()]
        for n, new in todo.items():
            i = index[n]
            lines[i] = lines[i].replace(names[n], new, 1)
        return write_text(path, "\n".join(lines))
    return write_text(path, _yaml_names(text, names, todo))


def _yaml_names(text: str, names: list[str], todo: Mapping[int, str]) -> str:
    """``data.yaml`` text with the ``names`` entries of ``todo`` (index -> new name) replaced."""
    from ruamel.yaml import YAML

    doc = YAML(typ="rt").load(text)
    seq = doc["names"]
    keys = sorted(seq) if isinstance(seq, dict) else list(range(len(seq)))
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    spots = []
    for n, new in todo.items():
        key = keys[n]
        lc: Any = seq.lc
        line, col = lc.value(key) if isinstance(seq, dict) else lc.item(key)
        spots.append((starts[line] + col, new))
    for offset, new in sorted(spots, reverse=True):
        token = _TOKEN.match(text, offset)
        end = token.end() if token else offset
        plain = _PLAIN.fullmatch(new) and new.lower() not in _YAML_WORDS
        value = new if plain else json.dumps(new, ensure_ascii=False)
        text = text[:offset] + value + text[end:]
    return text


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
    old_to_new = _category_renames(renames)
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
