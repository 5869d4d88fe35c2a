"""The provider interface: how the engine and CLI talk to one labelling platform.

A provider is created per remote (url + token) by :func:`labelsync.providers.open_provider`
and closed after use. Implementations live in ``providers/<name>/`` and never import each
other. Every method raises only :class:`labelsync.errors.LabelsyncError` subclasses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from labelsync.engine.events import ApplyEvents
from labelsync.errors import StalePlanError
from labelsync.plan.model import DatasetPlan
from labelsync.state import Dataset, Desired, Live

DEFAULT_JOBS = 32
"""Concurrent uploads unless ``--jobs`` says otherwise: on a 20 ms round trip, 32 small
uploads in flight keep a 2-core machine busy (benchmarks/README.md); more adds little."""


def stale_plan(plan: DatasetPlan, current: str | None) -> StalePlanError:
    """The error for a dataset whose branch moved from the plan's base to ``current``."""

    def short(revision: str | None) -> str:
        return "nothing (no dataset)" if revision is None else revision[:12]

    return StalePlanError(
        f"plan is stale: dataset '{plan.name}'" + (f" branch '{plan.branch}'" if plan.branch else "") + " moved from "
        f"{short(plan.base)} to {short(current)} since the plan was made",
        hint="run `labelsync plan` again and review the new plan",
    )


@dataclass(frozen=True)
class ApplyOptions:
    """How to apply: concurrency, commit message and provenance, optional tag.

    ``root`` is the directory the plan's ``source`` paths are relative to. ``source`` is
    provenance recorded with the commit (``{"repository", "commit"}``).
    """

    root: Path
    jobs: int = DEFAULT_JOBS
    message: str = ""
    tag: str | None = None
    source: Mapping[str, str] = field(default_factory=dict)
    wait: bool = True
    """Deepen: wait for processing to finish after the upload."""
    timeout: float = 600.0


@dataclass(frozen=True)
class ApplyResult:
    """What an apply did for one dataset."""

    name: str
    revision: str | None
    """The new head (tensorbay commit id; deepen dataset id)."""
    files_uploaded: int = 0
    """Data files whose content was sent (identical content counts once)."""
    bytes_uploaded: int = 0
    files_registered: int = 0
    """Data files written to the remote, sent or not (0 when the provider does not say)."""
    not_sent: tuple[str, ...] = ()
    """Why the registered files that were not sent needed no upload, one count each
    (``"2 with the same content as another file, sent once"``)."""
    changes_applied: int = 0
    resumed: bool = False
    messages: tuple[str, ...] = ()


class Provider(Protocol):
    """One platform, bound to one remote."""

    name: str

    def read_live(self, desired: Desired) -> Live:
        """The remote's state for ``desired``'s dataset, read at the head of its branch.

        May stop after O(1) requests and return ``complete=False`` when the head records
        the desired digest (a proven no-op).
        """
        ...

    def tag_problem(self, live: Live, name: str, tag: str) -> str | None:
        """Why the next commit of dataset ``name`` (read as ``live``) cannot be tagged ``tag``
        (one line), or None. Asked only of providers with tags (``Capabilities.versioned``)."""
        ...

    def current_base(self, plan: DatasetPlan) -> str | None:
        """The revision a new plan for this dataset would be based on (for stale checks)."""
        ...

    def apply(self, plan: DatasetPlan, options: ApplyOptions, events: ApplyEvents) -> ApplyResult:
        """Execute ``plan`` (never re-diffing it); resumable after an interruption."""
        ...

    def status(self, desired: Desired) -> dict[str, Any]:
        """Where the dataset stands on the remote (for ``labelsync status``)."""
        ...

    def pull_labels(self, desired: Desired) -> dict[str, dict[str, Any]]:
        """Remote labels per segment per remote path, in labelsync's label JSON."""
        ...

    def read_file(self, dataset: Dataset, segment: str, remote_path: str) -> bytes:
        """The bytes of data file ``remote_path`` of ``segment`` in ``dataset`` (as
        :meth:`read_live` returned it), at the revision read (``labelsync import
        --with-data``). Raises :class:`~labelsync.errors.UnsupportedError` (one line) when the
        platform cannot give a file's bytes, and :class:`~labelsync.errors.RemoteError` when
        the remote does not hold the file."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
