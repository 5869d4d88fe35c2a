"""Label formats: readers and writers between foreign label files and TensorBay label JSON.

Internal label state is what a JSONL ``label`` object holds (``docs/labels.md``): a mapping
remotePath -> label. Each format module offers

* ``parse(text, ...) -> Parsed`` (pure) and ``read(path, ...) -> Parsed``: the labels and one
  :class:`~labelsync.diagnostics.Diagnostic` (``file:line:column``, message, fix) per problem;
* ``dump(original_text | None, labels, ...) -> text`` (pure): the file holding ``labels``; an
  unchanged label set gives back ``original_text`` itself; and ``write(path, labels)``;
* ``catalog_from(path) -> catalog``: the TensorBay catalog from the format's own class list.

Per-image formats (VOC, labelme, YOLO, KITTI) read and write directories. Conventions of
each format are in ``docs/formats.md``. This package does no HTTP and knows no CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from labelsync.errors import UsageError
from labelsync.formats.names import LAYOUT, NAMES
from labelsync.formats.problems import FormatError, Labels, Parsed, problem


@dataclass(frozen=True)
class Format:
    """One format's entry points (see the package docstring for their contracts)."""

    name: str
    layout: str
    """``file`` (one label file for many items) or ``directory`` (one file per item)."""
    read: Callable[..., Parsed]
    write: Callable[..., Any]
    catalog_from: Callable[..., dict[str, Any]]
    module: ModuleType


def get(name: str) -> Format:
    """The format called ``name``; :class:`UsageError` naming the known ones otherwise."""
    if name not in NAMES:
        raise UsageError(f"unknown label format {name!r}", hint=f"use one of: {', '.join(NAMES)}")
    import importlib

    module = importlib.import_module(f"labelsync.formats.{name}")
    return Format(name, LAYOUT[name], module.read, module.write, module.catalog_from, module)


__all__ = ["NAMES", "Format", "FormatError", "Labels", "Parsed", "UsageError", "get", "problem"]
