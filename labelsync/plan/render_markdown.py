"""Plan -> GitHub-flavoured markdown for pull-request comments and ``$GITHUB_STEP_SUMMARY``.

Pure, like :mod:`labelsync.plan.render_text` (whose building blocks it reuses so both views
agree). Layout: the optional hidden marker comment (so a workflow can find and update its
own comment), a title, the summary line, a table with one row per dataset and segment, the
label statistics that change (at most ``STATS_LIMIT`` rows, :mod:`labelsync.plan.render_stats`),
deletions and breaking changes, blocked reasons and warnings, then one ``<details>`` block
per dataset and segment holding a fenced ``diff`` code block of the changes, each with its
label-level changes (at most ``LABEL_FOLD`` lines per segment, then a count).

GitHub refuses comments longer than 65,536 characters, so :func:`render_markdown` guarantees
``len(result) <= limit``: everything before the details is kept whole when it fits; details
are added block by block while they fit, the first block that does not fit is cut line by
line, and a note says the plan was truncated and where the full plan is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from labelsync.plan.model import Action, Change, DatasetPlan, Plan, format_bytes, kept_text
from labelsync.plan.renameplan import followers_line, split_followers
from labelsync.plan.render_stats import changed_rows, markdown_table
from labelsync.plan.render_text import (
    LABEL_FOLD,
    LabelFold,
    attribute_lines,
    callouts,
    change_text,
    detail_groups,
    live_stats,
    senders,
    summary_rows,
)

__all__ = ["GITHUB_COMMENT_LIMIT", "TRUNCATED_NOTE", "render_markdown"]

GITHUB_COMMENT_LIMIT = 65_536
TRUNCATED_NOTE = "Plan truncated to fit GitHub's comment limit; the full plan is in the artifact."

# In a ```diff block GitHub colours "+" green, "-" red and "!" orange ("~" would stay plain).
_DIFF_MARKERS = {Action.CREATE: "+", Action.UPDATE: "!", Action.DELETE: "-", Action.REPLACE: "-/+"}
_NOTE_BLOCK = f"\n> [!NOTE]\n> {TRUNCATED_NOTE}\n"


def render_markdown(plan: Plan, *, limit: int = GITHUB_COMMENT_LIMIT, marker: str | None = None) -> str:
    """The plan as markdown of at most ``limit`` characters (see the module docstring).

    ``marker`` (e.g. ``"<!-- labelsync-plan -->"``) is written verbatim as the first line.
    Details are listed in full (they are collapsed in ``<details>``) until the limit forces
    truncation, which is then stated in a note.
    """
    head = _head(plan, marker)
    blocks = [
        _details(d, segment, changes, sent)
        for d in plan.datasets
        for sent in [senders(d)]
        for segment, changes in detail_groups(d)
    ]
    full = head + "".join(blocks)
    if len(full) <= limit:
        return full
    return _truncated(head, blocks, limit)


def _truncated(head: str, blocks: list[str], limit: int) -> str:
    budget = limit - len(_NOTE_BLOCK)
    if budget <= 0:
        return TRUNCATED_NOTE[: max(limit, 0)]
    if len(head) > budget:
        # Even the summary does not fit: keep whole lines of it.
        return _cut_lines(head, budget) + _NOTE_BLOCK
    out = head
    for block in blocks:
        if len(out) + len(block) <= budget:
            out += block
            continue
        out += _cut_block(block, budget - len(out))
        break
    return out + _NOTE_BLOCK


def _cut_lines(text: str, budget: int) -> str:
    """The longest prefix of whole lines of ``text`` not longer than ``budget``."""
    if len(text) <= budget:
        return text
    cut = text.rfind("\n", 0, budget)
    return text[: cut + 1] if cut >= 0 else ""


def _cut_block(block: str, budget: int) -> str:
    """A ``<details>`` block cut to ``budget`` characters, still well-formed, or ''."""
    lines = block.split("\n")
    # lines: ["", "<details>...", "", fence+"diff", change lines..., fence, "</details>", ""]
    fence = lines[3].removesuffix("diff")
    opening = "\n".join(lines[:4]) + "\n"
    closing = f"{fence}\n\n</details>\n"
    body_lines = lines[4:-4]
    room = budget - len(opening) - len(closing)
    kept: list[str] = []
    used = 0
    for i, line in enumerate(body_lines):
        more = f"... {len(body_lines) - i:,} more lines not shown"
        if used + len(line) + 1 + len(more) + 1 > room:
            if not kept:
                return ""
            kept.append(more)
            break
        kept.append(line)
        used += len(line) + 1
    text = opening + "".join(line + "\n" for line in kept) + closing
    return text if len(text) <= budget else ""


def _head(plan: Plan, marker: str | None) -> str:
    lines: list[str] = []
    if marker:
        lines.append(marker)
    lines += ["## labelsync plan", "", f"**{plan.summary_line()}**", ""]
    rows = [row for d in plan.datasets for row in summary_rows(d)]
    if rows:
        lines += [
            "| Dataset | Segment | Create | Update | Delete | Replace | Upload |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in rows:
            c = row.counts
            segment = "(dataset)" if row.segment is None else _code(row.segment)
            lines.append(
                f"| {_code(row.dataset)} | {segment} | {c['create']:,} | {c['update']:,} | {c['delete']:,} "
                f"| {c['replace']:,} | {format_bytes(row.upload_bytes)} |"
            )
        lines.append("")
    stat_rows = [(d.name, row) for d in plan.datasets for row in changed_rows(d.stats, d.renames)[0]]
    if stat_rows:
        same = sum(changed_rows(d.stats, d.renames)[1] for d in plan.datasets)
        lines += ["**Label statistics** (counts that change, before -> after)", ""]
        lines += markdown_table(stat_rows)
        lines += ["", f"{same:,} counts unchanged.", ""] if same else [""]
    kept = [f"{_code(d.name)} {kept_text(d.kept)}" for d in plan.datasets if d.kept]
    if kept:
        lines += ["Kept (prune is off): " + "; ".join(kept) + ". Set `spec.prune: true` to delete them.", ""]
    unchanged = [d for d in plan.datasets if not d.has_changes]
    if unchanged and rows:
        lines += ["No changes: " + ", ".join(_code(d.name) for d in unchanged), ""]
    lines += _quote(
        "WARNING", "Deletions and breaking changes", [c for d in plan.datasets for c in callouts(d)]
    )
    lines += _quote(
        "CAUTION",
        "Blocked: apply will refuse this plan",
        [f"`dataset.{_tick(d.name)}`: {r}" for d in plan.datasets for r in d.blocked],
    )
    lines += _quote(
        "NOTE", "Warnings", [f"`dataset.{_tick(d.name)}`: {w}" for d in plan.datasets for w in d.warnings]
    )
    return "\n".join(lines)


def _quote(kind: str, title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    return [f"> [!{kind}]", f"> **{title}**", *(f"> - {_escape_line(item)}" for item in items), ""]


def _details(dataset: DatasetPlan, segment: str | None, changes: Sequence[Change], sent: Mapping[str, str]) -> str:
    where = f"dataset.{dataset.name}" + (f"/segment.{segment}" if segment is not None else "")
    counts = ", ".join(
        f"{n:,} to {action.value}"
        for action in Action
        if (n := sum(1 for c in changes if c.action is action))
    )
    body = []
    labels = LabelFold(LABEL_FOLD)
    changes, followers = split_followers(changes, dataset.renames)
    if (follow := followers_line(followers, dataset.renames)) is not None:
        body.append("! " + follow.removeprefix("~ "))
    for change in changes:
        body.append(f"{_DIFF_MARKERS[change.action]} {change_text(change, dataset.name, sent)}")
        body.extend(f"    {line}" for line in attribute_lines(change, live_stats(dataset), dataset.renames))
        body.extend(f"    {line}" for line in labels.lines(change))
    if (note := labels.note(hint=" (see the full plan)")) is not None:
        body.append(note)
    fence = _fence(body)
    summary = f"<code>{_html(where)}</code>: {counts}"
    return "\n".join(
        ["", f"<details><summary>{summary}</summary>", "", f"{fence}diff", *body, fence, "", "</details>", ""]
    )


def _fence(lines: list[str]) -> str:
    """A backtick fence longer than any backtick run in ``lines``."""
    longest = 0
    for line in lines:
        run = 0
        for ch in line:
            run = run + 1 if ch == "`" else 0
            longest = max(longest, run)
    return "`" * max(3, longest + 1)


def _code(text: str) -> str:
    """``text`` as an inline code span safe inside a table cell."""
    return f"`{_tick(text)}`".replace("|", "\\|")


def _tick(text: str) -> str:
    return text.replace("`", "'")


def _escape_line(text: str) -> str:
    return " ".join(text.split()).replace("<", "&lt;")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
