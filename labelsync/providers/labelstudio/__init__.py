"""The Label Studio provider (open source, 1.23.x; ``api/labelstudio.md``, ``docs/labelstudio.md``).

Modules: :mod:`.spec` (settings, capabilities), :mod:`.checks`, :mod:`.status` (pure);
:mod:`.client` with :mod:`.auth` and :mod:`.batches` (HTTP), :mod:`.wire` (answers),
:mod:`.config` (catalog -> label config XML), :mod:`.convert` with :mod:`.rle` and
:mod:`.png` (labels <-> result items), :mod:`.project` (title, description record),
:mod:`.live` (live state), :mod:`.session` (apply), :mod:`.provider`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labelsync.providers.base import DEFAULT_JOBS

if TYPE_CHECKING:
    from labelsync.manifest.remotes import Remote
    from labelsync.providers.labelstudio.provider import LabelStudioProvider


def connect(remote: Remote, url: str, token: str, *, jobs: int = DEFAULT_JOBS) -> LabelStudioProvider:
    """A :class:`~.provider.LabelStudioProvider` for ``remote`` at ``url`` (the server root,
    without ``/api``) with ``token`` (a personal access token or a legacy token)."""
    from labelsync.providers.labelstudio.client import LabelStudioClient
    from labelsync.providers.labelstudio.provider import LabelStudioProvider

    client = LabelStudioClient(url, token, token_env=remote.token_env or None, pool=max(8, min(jobs, 16)))
    return LabelStudioProvider(client, remote=remote.name, jobs=jobs)
