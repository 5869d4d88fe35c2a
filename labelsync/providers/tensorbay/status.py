"""How ``labelsync status`` shows a TensorBay dataset's facts (pure; the spec's ``describe_status``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def describe(head: str, sync: str, facts: Mapping[str, Any]) -> list[str]:
    """Text lines: the branch and its head commit, then the open drafts."""
    title = facts.get("head_title") or "no title"
    lines = [f"{head}: branch {facts.get('branch')} at {str(facts.get('head'))[:12]} ({title}), {sync}"]
    drafts = facts.get("open_drafts") or []
    if drafts:
        lines.append("  open drafts: " + "; ".join(f"#{d.get('number')} {d.get('title')!r}" for d in drafts))
    else:
        lines.append("  no open drafts")
    return lines
