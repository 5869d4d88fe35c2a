"""The registry: the one list of providers. Adding a provider is one line here.

Importing this module imports each provider's ``spec`` module only (pure pydantic models
and values), never a client or an emulator.
"""

from __future__ import annotations

from labelsync.providers.contract import ProviderSpec
from labelsync.providers.deepen.spec import SPEC as DEEPEN
from labelsync.providers.labelstudio.spec import SPEC as LABELSTUDIO
from labelsync.providers.tensorbay.spec import SPEC as TENSORBAY

PROVIDERS: dict[str, ProviderSpec] = {spec.name: spec for spec in (TENSORBAY, DEEPEN, LABELSTUDIO)}
"""Provider name -> spec, in the order help texts and docs list them."""

DEFAULT_PROVIDER = TENSORBAY.name
"""The provider of the built-in ``default`` remote (and of a manifest nothing else decides)."""


def get(name: str) -> ProviderSpec:
    """The spec of provider ``name``; raises :class:`KeyError` for an unknown one."""
    return PROVIDERS[name]


def names() -> tuple[str, ...]:
    """The registered provider names, in registry order."""
    return tuple(PROVIDERS)
