"""The ``labelsync init`` step that scaffolds ``dataset.yaml`` from data plus labels.

:func:`scaffold_manifest` looks at the directory (:func:`labelsync.formats.detect.detect`).
When it finds labels in a supported format it writes ``dataset.yaml`` (never replacing
one): the remote ``default``, ``catalog: {from: labels}`` (the format's own class list, or
the categories a JSON Lines file uses), and one segment ``default`` with the data directory
and include patterns found and the labels in their format. The line it prints says what it
guessed: the format and where, the data and how many files, the catalog's categories. When
no labels are found the step prints nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from labelsync.formats.detect import Guess, detect
from labelsync.formats.names import DEFAULT

MANIFEST = "dataset.yaml"


def _name(root: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "-", root.resolve().name).strip("-._")[:128]
    return name or "dataset"


def manifest_for(guess: Guess, name: str) -> str:
    """The ``dataset.yaml`` text for ``guess`` (a dataset called ``name``)."""
    data = ""
    if guess.data is not None:
        patterns = ", ".join(f'"{p}"' for p in guess.include)
        data = f"      data: {{path: {guess.data}, include: [{patterns}]}}\n"
    labels = f"{{path: {guess.labels}}}" if guess.format == DEFAULT else f"{{format: {guess.format}, path: {guess.labels}}}"
    return (
        f"# scaffolded by `labelsync init`: {guess.format} labels at {guess.labels}"
        + (f", data in {guess.data}" if guess.data else ", no data found")
        + "; review it, then `labelsync validate`\n"
        "apiVersion: labelsync/v1\n"
        "kind: Dataset\n"
        "metadata:\n"
        f"  name: {name}\n"
        "spec:\n"
        "  remote: default               # a remote from labelsync.yaml\n"
        "  catalog:\n"
        "    from: labels                # the categories of the labels' own class list\n"
        "  segments:\n"
        "    - name: default\n"
        f"{data}"
        f"      labels: {labels}\n"
    )


def _catalog_summary(root: Path, guess: Guess) -> str:
    from labelsync import formats
    from labelsync.errors import LabelsyncError

    path = root / guess.labels
    try:
        fmt = formats.get(guess.format)
        kwargs: dict[str, Any] = {}
        if guess.format == "labelme" and guess.data is not None:
            kwargs["data_dir"] = root / guess.data
        catalog = fmt.catalog_from(path, **kwargs)
    except (LabelsyncError, OSError, ValueError) as exc:
        return f"catalog from the labels (not readable yet: {exc})"
    parts = []
    for label_type, sub in catalog.items():
        names = [c.get("name") for c in (sub or {}).get("categories") or []]
        shown = ", ".join(str(n) for n in names[:5]) + (", ..." if len(names) > 5 else "")
        parts.append(f"{label_type} {len(names)} ({shown})" if names else label_type)
    return "catalog from the labels: " + ("; ".join(parts) or "no categories")


def scaffold_manifest(root: Path) -> Any:
    """Write ``root/dataset.yaml`` for the labels and data found under ``root``; ``None`` when
    there are no labels (the step then prints nothing)."""
    from labelsync.cli.init import Step, write_atomic

    guess = detect(root)
    if guess is None:
        return None
    path = root / MANIFEST
    if path.exists() or path.is_symlink():
        return Step("kept", path, f"it exists; not changed ({guess.format} labels found at {guess.labels})")
    if not write_atomic(path, manifest_for(guess, _name(root)).encode("utf-8"), create=True):
        return Step("kept", path, "it exists; not changed")
    data = f"data {guess.data}/ ({guess.images} files: {', '.join(guess.include)})" if guess.data else "no data found (set data.path)"
    return Step("created", path, f"guessed {guess.format} labels at {guess.labels}, {data}, {_catalog_summary(root, guess)}")


__all__ = ["manifest_for", "scaffold_manifest"]
