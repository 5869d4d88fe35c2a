"""The TensorBay Open API v1 provider (``api/tensorbay.md``): :func:`connect` binds it to one remote.

Modules: :mod:`.spec` (settings, capabilities), :mod:`.checks` (manifest rules),
:mod:`.client` (endpoints), :mod:`.convert` (pure wire <-> state conversions),
:mod:`.lock` (the draft lock), :mod:`.upload`, :mod:`.apply`, :mod:`.provider`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labelsync.providers.base import DEFAULT_JOBS

if TYPE_CHECKING:
    from labelsync.manifest.remotes import Remote
    from labelsync.providers.tensorbay.provider import TensorBayProvider


def connect(remote: Remote, url: str, token: str, *, jobs: int = DEFAULT_JOBS) -> TensorBayProvider:
    """A :class:`~.provider.TensorBayProvider` for ``remote`` at ``url`` (the service base)."""
    from labelsync.providers.tensorbay.client import TensorBayClient
    from labelsync.providers.tensorbay.provider import TensorBayProvider

    client = TensorBayClient(url, token, token_env=remote.token_env, pool=max(32, jobs + 8), uploads=jobs)
    return TensorBayProvider(client, remote=remote.name)
