"""How ``labelsync status`` shows a Deepen dataset's facts (pure; the spec's ``describe_status``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def describe(head: str, sync: str, facts: Mapping[str, Any]) -> list[str]:
    """Text lines: the dataset id, processing status, current stage and per-stage progress."""
    lines = [f"{head}: dataset {facts.get('id')}, {sync}"]
    message = f" ({facts['message']})" if facts.get("message") else ""
    lines.append(f"  processing: {facts.get('processing_status')}{message}")
    lines.append(
        f"  stage: {facts.get('current_stage')} {facts.get('current_stage_status')}; "
        f"{facts.get('all_stages_done', 0)} of {facts.get('files', 0)} files through every stage"
    )
    for stage, counts in (facts.get("stages") or {}).items():
        parts = ", ".join(f"{k} {v}" for k, v in counts.items())
        lines.append(f"    {stage}: {parts}")
    return lines
