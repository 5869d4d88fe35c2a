"""What a label format cannot hold of a remote dataset: the counts an import refuses with.

``labelsync import --format F`` either writes files that give back every remote label (so
``plan`` shows no changes) or refuses with one line naming what ``F`` cannot hold. Two checks
feed :class:`Losses`:

* :func:`static_losses` (before anything is downloaded or written): label types ``F`` has no
  place for (:data:`labelsync.formats.names.HOLDS`), item timestamps and masks;
* :func:`roundtrip_losses` (on files written to a staging directory): the labels that, read
  back the way ``plan`` reads them, are not exactly the remote's (attributes, instance ids,
  coordinates a format rounds), per label type, and the first diagnostic of the read-back.

:meth:`Losses.error` is the refusal: ``3 CLASSIFICATION labels and 2 timestamps: --format coco
cannot hold them (e.g. train/img1.png); use --format tensorbay (the default)``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labelsync.errors import UsageError
from labelsync.formats.names import DEFAULT, HOLDS
from labelsync.state import Dataset, canonical_json


@dataclass
class Losses:
    """What format ``fmt`` cannot hold: ``counts`` maps a label type (or ``timestamp``) to
    the number of items it concerns; ``example`` is the first ``segment/remotePath``."""

    fmt: str
    counts: Counter[str] = field(default_factory=Counter)
    example: str | None = None
    unreadable: str | None = None
    """The first problem reading the written files back (then they hold nothing for sure)."""

    def add(self, kind: str, where: str, detail: str | None = None) -> None:
        self.counts[kind] += 1
        if self.example is None:
            self.example = f"{where}: {detail}" if detail else where

    def __bool__(self) -> bool:
        return bool(self.counts) or self.unreadable is not None

    def summary(self) -> str:
        parts = []
        for kind in sorted(self.counts, key=lambda k: (k == "timestamp", k)):
            n = self.counts[kind]
            parts.append(f"{n} timestamp{'s' if n != 1 else ''}" if kind == "timestamp" else
                         f"{n} {kind} label{'s' if n != 1 else ''}")
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]

    def error(self) -> UsageError:
        hint = f"use --format {DEFAULT} (the default), which holds every label; nothing was written"
        if self.unreadable is not None and not self.counts:
            return UsageError(f"--format {self.fmt} cannot hold this dataset: its files read back with a problem: "
                              f"{self.unreadable}", hint=hint)
        exactly = " exactly" if self.counts.keys() <= set(HOLDS.get(self.fmt, ())) else ""
        return UsageError(f"{self.summary()}: --format {self.fmt} cannot hold them{exactly} (e.g. {self.example})",
                          hint=hint)


def static_losses(fmt: str, live: Dataset) -> Losses:
    """The label types, timestamps and masks of ``live`` that ``fmt`` has no place for."""
    out = Losses(fmt)
    if fmt == DEFAULT:
        return out
    holds = set(HOLDS[fmt])
    for seg_name in sorted(live.segments):
        seg = live.segments[seg_name]
        for rp in sorted(seg.items):
            item = seg.items[rp]
            for kind in sorted(item.label):
                if kind not in holds:
                    out.add(kind, f"{seg_name}/{rp}")
            if item.timestamp is not None:
                out.add("timestamp", f"{seg_name}/{rp}")
    return out


def roundtrip_losses(
    out: Losses, segment: str, labels: Mapping[str, Mapping[str, Any]], back: Mapping[str, Mapping[str, Any]],
    problems: Iterable[object] = (),
) -> None:
    """Add to ``out`` each label type whose value in ``back`` (the written files read back)
    is not the one in ``labels`` (the remote's), per item of ``segment``."""
    for problem in problems:
        out.unreadable = out.unreadable or str(problem)
    for rp in sorted(set(labels) | set(back)):
        want, got = labels.get(rp) or {}, back.get(rp) or {}
        for kind in sorted(set(want) | set(got)):
            if canonical_json(want.get(kind)) != canonical_json(got.get(kind)):
                out.add(kind, f"{segment}/{rp}", _differs(want.get(kind), got.get(kind)))


def _differs(want: Any, got: Any) -> str:
    """The first field of a label value that reads back otherwise, e.g. ``attributes``."""
    if want is None or got is None:
        return "not read back" if got is None else "read back where the remote has none"
    if isinstance(want, list) and isinstance(got, list) and len(want) != len(got):
        return f"{len(want)} objects read back as {len(got)}"
    pairs = list(zip(want, got, strict=True)) if isinstance(want, list) and isinstance(got, list) else [(want, got)]
    for a, b in pairs:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                if canonical_json(a.get(key)) != canonical_json(b.get(key)):
                    return f"{key} changed" if key in a and key in b else f"{key} not kept" if key in a else f"{key} added"
    return "value changed"


__all__ = ["Losses", "roundtrip_losses", "static_losses"]
