"""The provider interface: how the engine and CLI talk to one labelling platform.

A provider is created per remote (url + token) by :func:`labelsync.providers.open_provider`
and closed after use. Implementations live in ``providers/<name>/`` and never import each
other. Every method raises only :class:`labelsync.errors.LabelsyncError` subclasses. Apply
is the engine's: a provider only offers a session per dataset plan.
"""

from __future__ import annotations

from typing import Any, Protocol

from labelsync.plan.model import DatasetPlan
from labelsync.providers.session import (
    DEFAULT_JOBS,
    ApplyEvents,
    ApplyOptions,
    ApplyResult,
    Session,
    stale_plan,
)
from labelsync.state import Dataset, Desired, Live

__all__ = ["DEFAULT_JOBS", "ApplyOptions", "ApplyResult", "Provider", "stale_plan"]


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

    def session(self, plan: DatasetPlan, options: ApplyOptions, events: ApplyEvents) -> Session:
        """The apply session of ``plan`` (:mod:`labelsync.providers.session`): the engine
        opens it, drives it in phase order and closes it; nothing is written before ``open``."""
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
