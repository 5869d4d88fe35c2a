"""How labelsync names and marks its Label Studio projects (pure; ``docs/labelstudio.md``).

One project per dataset. Its title is :func:`title_for`: ``labelsync:<name>`` (or the
``spec.labelstudio.title`` override), shortened to Label Studio's 50 characters with a hash
of the full title when longer. The title finds the project (exactly, client-side); the
description's :data:`MARKER` line proves labelsync made it for that dataset, so a project a
person made with the same title is never adopted.

The description's :data:`STATE` line is labelsync's record (:class:`State`, JSON):

* ``catalog``: the catalog the label config was built from (the config XML cannot be read
  back without loss: enum values ``3`` and ``"3"`` look alike);
* ``digest``, ``tasks``, ``predictions``, ``annotations``: the desired digest the last apply
  reached and the project's counters right after it (``task_number``,
  ``total_predictions_number``, ``total_annotations_number + skipped_annotations_number``).
  Apply removes ``digest`` before its first write and sets it again when it is done, so a
  digest is only ever recorded for a finished apply; the counters catch what people changed
  in Label Studio since (tasks deleted, annotations made).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

from labelsync.providers.labelstudio import wire

MAX_TITLE = 50
PREFIX = "labelsync:"
MARKER = "labelsync-dataset: "
STATE = "labelsync-state: "
HEADER = "Managed by labelsync (dataset {name}). Tasks and predictions are rewritten by `labelsync apply`; annotations are yours."


def title_for(name: str, override: str | None = None) -> str:
    """The project title of dataset ``name``: at most :data:`MAX_TITLE` characters."""
    title = override or PREFIX + name
    if len(title) <= MAX_TITLE:
        return title
    digest = hashlib.sha256(title.encode()).hexdigest()[:8]
    return title[: MAX_TITLE - 9] + "~" + digest


@dataclass(frozen=True)
class State:
    """labelsync's record in a project description (see the module docstring)."""

    catalog: dict[str, Any] = field(default_factory=dict)
    digest: str | None = None
    tasks: int | None = None
    predictions: int | None = None
    annotations: int | None = None

    def dirty(self) -> State:
        """The record while an apply is writing: no digest, no counters."""
        return replace(self, digest=None, tasks=None, predictions=None, annotations=None)

    def proves(self, digest: str, project: wire.Project) -> bool:
        """True when this record proves the project holds ``digest`` (nothing moved since)."""
        return self.digest == digest and counters(project) == (self.tasks, self.predictions, self.annotations)


def counters(project: wire.Project) -> tuple[int, int, int]:
    """``(tasks, predictions, annotations incl. skipped)`` of a project."""
    annotations = (project.total_annotations_number or 0) + (project.skipped_annotations_number or 0)
    return project.task_number or 0, project.total_predictions_number or 0, annotations


def describe(name: str, state: State) -> str:
    """The description text: a sentence for people, the marker line and the state line."""
    body: dict[str, Any] = {"catalog": state.catalog}
    for key in ("digest", "tasks", "predictions", "annotations"):
        value = getattr(state, key)
        if value is not None:
            body[key] = value
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{HEADER.format(name=name)}\n{MARKER}{name}\n{STATE}{text}"


def describe_keeping(name: str, state: State, previous: str | None) -> str:
    """:func:`describe` after the lines of ``previous`` that are not labelsync's (the
    description people gave a project labelsync adopted stays)."""
    theirs = [line for line in (previous or "").splitlines()
              if not line.startswith((MARKER, STATE)) and line != HEADER.format(name=name)]
    text = "\n".join(theirs).rstrip()
    return (text + "\n" if text else "") + describe(name, state)


def marked_for(description: str | None, name: str) -> bool:
    """True when the description carries the marker line of dataset ``name``."""
    return f"{MARKER}{name}" in (description or "").splitlines()


def read_state(description: str | None) -> State | None:
    """The state line of a description; None when there is none or it is not valid."""
    for line in (description or "").splitlines():
        if line.startswith(STATE):
            try:
                body = json.loads(line[len(STATE) :])
            except ValueError:
                return None
            if not isinstance(body, dict):
                return None
            ints = {k: body[k] if isinstance(body.get(k), int) else None for k in ("tasks", "predictions", "annotations")}
            digest = body.get("digest") if isinstance(body.get("digest"), str) else None
            catalog: dict[str, Any] = body["catalog"] if isinstance(body.get("catalog"), dict) else {}
            return State(catalog=catalog, digest=digest, **ints)
    return None
