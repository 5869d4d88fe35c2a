"""The Deepen AI provider (``api/deepen.md``): :func:`connect` binds it to one remote.

Modules: :mod:`.client` (endpoints), :mod:`.convert` (pure wire <-> state conversions),
:mod:`.zipper` (deterministic zip), :mod:`.upload` (resumable upload), :mod:`.apply`,
:mod:`.provider`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labelsync.errors import ConfigError
from labelsync.providers.base import DEFAULT_JOBS

if TYPE_CHECKING:
    from labelsync.manifest.remotes import Remote
    from labelsync.providers.deepen.provider import DeepenProvider


def connect(remote: Remote, url: str, token: str, *, jobs: int = DEFAULT_JOBS) -> DeepenProvider:
    """A :class:`~.provider.DeepenProvider` for ``remote`` at ``url`` (the API base, or a bare
    server url such as the embedded emulator's, which gets ``/api/v2``) with ``token``.

    Raises :class:`~labelsync.errors.ConfigError` when the remote has no client id.
    """
    from labelsync.providers.deepen.client import DeepenClient
    from labelsync.providers.deepen.provider import DeepenProvider

    client_id = remote.setting("clientId")
    if not client_id:
        raise ConfigError(
            f"remote '{remote.name}' needs a Deepen client id",
            hint="add clientId: <workspace id> to the remote in labelsync.yaml",
        )
    client = DeepenClient(url, token, str(client_id), token_env=remote.token_env or None, pool=max(8, min(jobs, 32)))
    return DeepenProvider(client, remote=remote.name)
