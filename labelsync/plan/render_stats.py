"""Label statistics -> text lines and markdown tables (pure; rows from :mod:`labelsync.plan.stats`).

A row reads ``train  BOX2D car  1,204 -> 1,251 (+47)``. In a plan only the rows whose count
changes are shown, at most ``limit`` of them, then a count of the rest; the unchanged rows
are counted (``labelsync stats`` lists every row).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from labelsync.plan.stats import StatRow, stat_rows

__all__ = ["STATS_LIMIT", "change_cell", "changed_rows", "counts_text", "markdown_table", "row_what", "text_lines"]

STATS_LIMIT = 100
"""Changed rows shown per plan view before the rest are counted."""


def row_what(row: StatRow) -> str:
    """``items``, ``items with no labels``, ``BOX2D labels``, ``BOX2D car``, ``BOX2D occluded=true``."""
    if row.what == "items":
        return "items"
    if row.what == "unlabelled":
        return "items with no labels"
    if row.what == "labels":
        return f"{row.type} labels"
    return f"{row.type} {row.name}"


def counts_text(row: StatRow, *, single: bool = False) -> str:
    """``1,204 -> 1,251 (+47)``, ``3 -> 3``; just ``1,251`` when ``single``."""
    if single:
        return f"{row.after:,}"
    text = f"{row.before:,} -> {row.after:,}"
    return text + (f" ({row.delta:+,})" if row.delta else "")


def changed_rows(stats: Mapping[str, Any] | None, renames: Any = None) -> tuple[list[StatRow], int]:
    """The rows of a plan's ``stats`` whose count changes or that follow one of the plan's
    ``renames`` (``bus -> coach  312 -> 312``), and how many rows did not."""
    if not stats:
        return [], 0
    rows = stat_rows(stats.get("before"), stats.get("after"), renames)
    changed = [r for r in rows if r.changed]
    return changed, len(rows) - len(changed)


def text_lines(rows: Sequence[StatRow], *, single: bool = False, limit: int | None = None) -> list[str]:
    """Aligned lines ``segment  what  counts``; at most ``limit`` rows, then a count."""
    shown = list(rows if limit is None else rows[:limit])
    if not shown:
        return []
    width_seg = max(len(r.segment) for r in shown)
    width_what = max(len(row_what(r)) for r in shown)
    out = [f"{r.segment:<{width_seg}}  {row_what(r):<{width_what}}  {counts_text(r, single=single)}" for r in shown]
    if len(rows) > len(shown):
        out.append(f"... and {len(rows) - len(shown):,} more rows (labelsync stats lists all)")
    return out


def markdown_table(rows: Sequence[tuple[str, StatRow]], *, limit: int = STATS_LIMIT) -> list[str]:
    """A markdown table (``| Dataset | Segment | Count of | Before | After | Change |``) of at
    most ``limit`` ``(dataset, row)`` rows, then a line counting the rest; ``[]`` for none."""
    if not rows:
        return []
    out = [
        "| Dataset | Segment | Count of | Before | After | Change |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    for dataset, r in rows[:limit]:
        out.append(
            f"| {_cell(dataset)} | {_cell(r.segment)} | {_cell(row_what(r))} | {r.before:,} | {r.after:,} | {change_cell(r)} |"
        )
    if len(rows) > limit:
        out.append("")
        out.append(f"... and {len(rows) - limit:,} more changed counts (`labelsync stats` lists all).")
    return out


def change_cell(row: StatRow) -> str:
    """The change column: ``+47``, ``-3``, ``0``, or ``renamed`` for a rename with equal counts."""
    return "renamed" if row.renamed and not row.delta else f"{row.delta:+,}" if row.delta else "0"


def _cell(text: str) -> str:
    return "`" + text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"
