"""How ``labelsync status`` shows a Label Studio project's facts (pure; the spec's ``describe_status``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def describe(head: str, sync: str, facts: Mapping[str, Any]) -> list[str]:
    """Text lines: the project, its task counters and the annotations per label."""
    lines = [f"{head}: project {facts.get('id')} '{facts.get('title')}', {sync}"]
    lines.append(
        f"  tasks: {facts.get('tasks', 0)}; annotated {facts.get('annotated', 0)}, finished {facts.get('finished', 0)}, "
        f"skipped {facts.get('skipped', 0)}; {facts.get('annotations', 0)} annotations, "
        f"{facts.get('predictions', 0)} predictions"
    )
    for control, counts in sorted((facts.get("labels") or {}).items()):
        parts = ", ".join(f"{label} {n}" for label, n in sorted(counts.items()))
        lines.append(f"    {control}: {parts}")
    return lines
