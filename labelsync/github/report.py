"""The markdown the action writes: the step summary and the pull-request comment.

Both carry the same body: a hidden marker (so the comment can be found and updated), a
heading naming the command and the working directory, the plan rendered by
:func:`labelsync.plan.render_markdown.render_markdown`, and a footer linking the run.
Every body is kept under GitHub's comment limit (:data:`COMMENT_LIMIT` characters, counted
as GitHub does, in UTF-16 code units): the renderer gets the remaining budget and
:func:`fit` is a final guard that cuts at a line, closes any open code block or
``<details>``, and says where the full plan is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from labelsync.plan.model import Plan, format_bytes

COMMENT_LIMIT = 65_536
_SAFETY = 512  # room for the truncation note and closing tags


def marker_for(command: str, working_directory: str, paths: Sequence[str]) -> str:
    """The hidden marker identifying one comment per command, working directory and paths,
    e.g. ``<!-- labelsync-plan: infra/datasets manifests/ -->``.

    Two action steps planning different directories of one repository keep two comments;
    re-running the same step finds and updates its own.
    """
    ident = " ".join([working_directory.strip() or "."] + [p for p in paths if p])
    ident = re.sub(r"-{2,}", "-", ident.replace(">", "").replace("\n", " ")).strip()
    return f"<!-- labelsync-{command}: {ident} -->"


def github_length(text: str) -> int:
    """Length as GitHub counts it (UTF-16 code units, so an emoji counts two)."""
    return len(text.encode("utf-16-le")) // 2


def fit(body: str, limit: int, note: str) -> str:
    """``body`` unchanged when it fits in ``limit``; otherwise cut at a line boundary so
    that the cut body, closing tags and ``note`` fit, in that order."""
    if github_length(body) <= limit:
        return body
    budget = limit - github_length(note) - _SAFETY
    lines = body.split("\n")
    kept: list[str] = []
    used = 0
    for line in lines:
        size = github_length(line) + 1
        if used + size > budget:
            break
        kept.append(line)
        used += size
    closing = []
    if sum(1 for line in kept if line.lstrip().startswith("```")) % 2:
        closing.append("```")
    opened = sum(line.count("<details") for line in kept) - sum(line.count("</details>") for line in kept)
    closing.extend(["</details>"] * max(opened, 0))
    return "\n".join(kept + closing + ["", note, ""])


def heading(command: str, working_directory: str, paths: Sequence[str], head_sha: str, run_url: str) -> str:
    """``### labelsync plan`` plus where and on which commit, as one or two lines."""
    where = " ".join(p for p in [working_directory if working_directory not in ("", ".") else "", *paths] if p)
    title = f"### labelsync {command}" + (f" · `{where}`" if where else "")
    facts = []
    if head_sha:
        facts.append(f"commit `{head_sha[:12]}`")
    if run_url:
        facts.append(f"[workflow run]({run_url})")
    return title + ("\n" + " · ".join(facts) if facts else "")


def truncation_note(run_url: str, plan_path: str) -> str:
    """What a reader of a cut comment needs: that it was cut and where the rest is."""
    where = f"the artifacts of the [workflow run]({run_url})" if run_url else f"`{plan_path}`"
    return f"> [!NOTE]\n> The plan is too long for a comment and was truncated. The full plan is in {where}."


def plan_body(
    plan: Plan,
    *,
    marker: str,
    title: str,
    run_url: str,
    plan_path: str,
    limit: int = COMMENT_LIMIT,
) -> str:
    """The summary/comment markdown for ``plan``: marker, title, rendered plan, kept under ``limit``."""
    head = f"{marker}\n{title}\n\n"
    note = truncation_note(run_url, plan_path)
    budget = limit - github_length(head) - github_length(note) - _SAFETY
    return fit(head + render_plan(plan, limit=budget), limit, note)


def render_plan(plan: Plan, *, limit: int) -> str:
    """The plan as markdown within ``limit`` characters (the plan package's renderer when
    present; a summary table otherwise)."""
    try:
        from labelsync.plan.render_markdown import render_markdown
    except ImportError:
        return _summary_markdown(plan)
    return render_markdown(plan, limit=limit)


def _summary_markdown(plan: Plan) -> str:
    lines = [f"**{plan.summary_line()}**", ""]
    if plan.datasets:
        lines += ["| dataset | create | update | delete | replace | upload |", "|---|---:|---:|---:|---:|---:|"]
        for d in plan.datasets:
            c = d.counts()
            lines.append(
                f"| `{d.name}` | {c['create']} | {c['update']} | {c['delete']} | {c['replace']} "
                f"| {format_bytes(d.upload_bytes())} |"
            )
    changes = [c for d in plan.datasets for c in d.changes]
    if changes:
        lines += ["", f"<details><summary>{len(changes)} changes</summary>", "", "```"]
        lines += [f"{c.action.value:8} {c.address}" for c in changes]
        lines += ["```", "", "</details>"]
    return "\n".join(lines)


def failure_body(*, marker: str, title: str, exit_code: int, log_tail: str, limit: int = COMMENT_LIMIT) -> str:
    """The summary/comment markdown when the command failed: exit code and the end of its log."""
    explain = "an internal error (please report it)" if exit_code == 3 else "an error"
    text = f"{marker}\n{title}\n\n**Failed** with {explain} (exit code {exit_code}).\n"
    if log_tail.strip():
        safe = log_tail.replace("```", "'''")
        text += f"\n```text\n{safe.rstrip()}\n```\n"
    return fit(text, limit, "> The log was truncated; see the workflow run for all of it.")
