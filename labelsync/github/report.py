"""The markdown the action writes: the step summary and the pull-request comment.

Both carry the same body: a hidden marker (so the comment can be found and updated), the
plan rendered by :func:`labelsync.plan.render_markdown.render_markdown`, and a footer
naming the working directory and commit and linking the run. Every body is kept under GitHub's comment limit (:data:`COMMENT_LIMIT` characters, counted
as GitHub does, in UTF-16 code units): the renderer gets the remaining budget and
:func:`fit` is a final guard that cuts at a line, closes any open code block or
``<details>``, and says where the full plan is.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence

from labelsync.plan.model import Plan
from labelsync.plan.render_markdown import render_markdown

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


def context_line(working_directory: str, paths: Sequence[str], head_sha: str, run_url: str) -> str:
    """Where and on what the command ran: ``` `infra a.yaml` · commit `0123456789ab` · [workflow run](...)```."""
    where = " ".join(p for p in [working_directory if working_directory not in ("", ".") else "", *paths] if p)
    facts = [f"`{where}`"] if where else []
    if head_sha:
        facts.append(f"commit `{head_sha[:12]}`")
    if run_url:
        facts.append(f"[workflow run]({run_url})")
    return " · ".join(facts)


def heading(command: str, context: str) -> str:
    """``### labelsync <command>`` and the context line under it."""
    return f"### labelsync {command}" + (f"\n{context}" if context else "")


def truncation_note(run_url: str) -> str:
    """What a reader of a cut body needs: that it was cut and where the rest is."""
    where = f"the [workflow run]({run_url}) and its artifacts" if run_url else "the workflow run"
    return f"> [!NOTE]\n> Truncated to fit GitHub's comment limit; see {where}."


def report_line(artifact: str, run_url: str, size: int) -> str:
    """Where the HTML report is: ``**Visual report**: artifact `NAME` of the [workflow run](URL) (1.2 MiB)``."""
    from labelsync.plan.model import format_bytes

    run = f"the [workflow run]({run_url})" if run_url else "the workflow run"
    return f"**Visual report** (images with before/after labels): artifact `{artifact}` of {run} ({format_bytes(size)})."


def plan_body(
    plan: Plan, *, marker: str, context: str, run_url: str, limit: int = COMMENT_LIMIT, report_note: str = ""
) -> str:
    """The summary/comment markdown for ``plan``: the marker, the plan rendered by
    :func:`~labelsync.plan.render_markdown.render_markdown` in the space left, the link to
    the HTML report (``report_note``, :func:`report_line`) and the context line as a footer;
    at most ``limit`` characters."""
    head = f"{marker}\n"
    foot = (f"\n\n{report_note}" if report_note else "") + (f"\n\n<sub>{context}</sub>\n" if context else "\n")
    note = truncation_note(run_url)
    budget = limit - github_length(head) - github_length(foot) - github_length(note) - _SAFETY
    return fit(head + render_markdown(plan, limit=budget).rstrip("\n") + foot, limit, note)


def full_plan_markdown(plan: Plan, context: str) -> str:
    """The whole plan as markdown, with no length limit (written next to the plan JSON)."""
    return render_markdown(plan, limit=sys.maxsize).rstrip("\n") + (f"\n\n<sub>{context}</sub>\n" if context else "\n")


def failure_body(*, marker: str, title: str, exit_code: int, log_tail: str, limit: int = COMMENT_LIMIT) -> str:
    """The summary/comment markdown when the command failed: exit code and the end of its log."""
    explain = "an internal error (please report it)" if exit_code == 3 else "an error"
    text = f"{marker}\n{title}\n\n**Failed** with {explain} (exit code {exit_code}).\n"
    if log_tail.strip():
        safe = log_tail.replace("```", "'''")
        text += f"\n```text\n{safe.rstrip()}\n```\n"
    return fit(text, limit, "> The log was truncated; see the workflow run for all of it.")
