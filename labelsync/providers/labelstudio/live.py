"""Label Studio tasks <-> labelsync items: keys, task data, labels (``docs/labelstudio.md``).

A task is labelsync's when its data holds ``remotePath``; its key is ``(data.segment,
data.remotePath)`` (a task without ``segment`` is in :data:`DEFAULT_SEGMENT`). Its content
identity is ``data.sha1``/``data.size`` (Label Studio keeps no hash of its own). Task ids are
never keys: SQLite reuses them after deletes.

The label of a task, as labelsync sees it (:func:`task_label`):

* the newest submitted, non-cancelled human annotation (drafts are not annotations), when
  there is one: human work is what the project holds;
* else labelsync's prediction (``model_version`` :data:`MODEL_VERSION`): when its result is
  exactly what the desired label converts to, the desired label itself (so numbers compare
  as they were written), otherwise the label converted back from the result;
* else no label.

A SEMANTIC_MASK converted back from results is a PNG made here (:mod:`.png`); the label
holds its ``{checksum, fileSize, info?}`` and :func:`remote_label` gives pull a
:class:`~labelsync.state.RemoteMask` whose bytes are that PNG.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import imagesize

from labelsync.errors import LocalDataError
from labelsync.providers.labelstudio import wire
from labelsync.providers.labelstudio.client import newest_annotation
from labelsync.providers.labelstudio.convert import from_results, to_results
from labelsync.state import Blob, RemoteMask

MODEL_VERSION = "labelsync"
"""The ``model_version`` of the predictions labelsync writes (others are left alone)."""
DEFAULT_SEGMENT = "default"
MASK = "SEMANTIC_MASK"

Key = tuple[str, str]


def key_of(task: wire.Task) -> Key | None:
    """``(segment, remotePath)`` of a labelsync task; None for a task labelsync did not make."""
    path = task.data.get("remotePath")
    if not isinstance(path, str) or not path:
        return None
    segment = task.data.get("segment")
    return (segment if isinstance(segment, str) and segment else DEFAULT_SEGMENT, path)


def blob_of(task: wire.Task) -> Blob | None:
    sha1, size = task.data.get("sha1"), task.data.get("size")
    return Blob(sha1, size) if isinstance(sha1, str) and isinstance(size, int) else None


def task_data(image: str, segment: str, path: str, checksum: str, size: int) -> dict[str, Any]:
    """The data of a labelsync task."""
    return {"image": image, "segment": segment, "remotePath": path, "sha1": checksum, "size": size}


def by_key(tasks: Iterable[wire.Task]) -> dict[Key, wire.Task]:
    """labelsync's tasks by key; of two tasks with one key the first (lowest id) counts."""
    out: dict[Key, wire.Task] = {}
    for task in sorted(tasks, key=lambda t: t.id):
        key = key_of(task)
        if key is not None and key not in out:
            out[key] = task
    return out


def our_predictions(task: wire.Task) -> list[wire.Prediction]:
    """labelsync's predictions of a task, oldest first."""
    return sorted((p for p in task.predictions or [] if p.model_version == MODEL_VERSION), key=lambda p: p.id)


def image_size(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` from the image's header (the image is not decoded)."""
    try:
        width, height = imagesize.get(str(path))
    except OSError as exc:
        raise LocalDataError(f"{path}: cannot read the image: {exc.strerror or exc}") from exc
    if width <= 0 or height <= 0:
        raise LocalDataError(
            f"{path}: the image size cannot be read from its header",
            hint="Label Studio keeps coordinates as percentages of the image size; use PNG, JPEG, GIF, BMP, TIFF or WebP",
        )
    return int(width), int(height)


def results_for(
    label: Mapping[str, Any], catalog: Mapping[str, Any], image: str | Path, mask: str | Path | None, *, where: str
) -> list[dict[str, Any]]:
    """The prediction result of a desired ``label`` of the image at ``image`` (``mask``: the
    SEMANTIC_MASK file, when the label has one). ``[]`` for no label."""
    if not label:
        return []
    width, height = image_size(image)
    mask_bytes = None
    if MASK in label:
        if mask is None:
            raise LocalDataError(f"{where}: the SEMANTIC_MASK file is missing")
        try:
            mask_bytes = Path(mask).read_bytes()
        except OSError as exc:
            raise LocalDataError(f"{where}: cannot read {mask}: {exc.strerror or exc}") from exc
    return to_results(label, catalog, width, height, mask=mask_bytes, where=where)


def converted(results: list[dict[str, Any]], catalog: Mapping[str, Any], *, where: str) -> tuple[dict[str, Any], bytes | None]:
    """``(label, mask PNG)`` of a result list, the mask entry as ``{checksum, fileSize, info?}``."""
    label, mask = from_results(results, catalog, where=where)
    if mask is not None:
        entry: dict[str, Any] = {"checksum": hashlib.sha1(mask).hexdigest(), "fileSize": len(mask)}
        info = (label.get(MASK) or {}).get("info")
        if info:
            entry["info"] = info
        label[MASK] = entry
    return label, mask


def task_label(
    task: wire.Task, catalog: Mapping[str, Any], desired: Mapping[str, Any] | None, desired_results: Any, *, where: str
) -> tuple[dict[str, Any], bytes | None, bool]:
    """``(label, mask PNG, human)`` of a task (see the module docstring). ``desired_results``
    is :func:`results_for` of the desired label (called lazily: a callable, or None)."""
    annotation = newest_annotation(task.annotations or [])
    if annotation is not None:
        label, mask = converted(annotation.result, catalog, where=where)
        return label, mask, True
    ours = our_predictions(task)
    if not ours:
        return {}, None, False
    result = ours[-1].result
    if desired is not None and desired_results is not None and result == desired_results():
        return dict(desired), None, False
    label, mask = converted(result, catalog, where=where)
    return label, mask, False


def remote_label(label: dict[str, Any], mask: bytes | None) -> dict[str, Any]:
    """A task label for ``pull``: the mask entry as a :class:`RemoteMask` of its PNG."""
    if mask is None or MASK not in label:
        return label
    entry = label[MASK]
    out = dict(label)
    out[MASK] = RemoteMask(blob=Blob(entry["checksum"], entry["fileSize"]), info=entry.get("info"), fetch=lambda: mask)
    return out
