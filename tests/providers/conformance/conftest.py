"""The conformance suite's fixtures: one run of every test per registered provider.

``HARNESSES`` maps a provider's registry name to its :class:`~.harness.Harness`. A provider
registered in :data:`labelsync.providers.registry.PROVIDERS` without a harness here fails
the suite (it would otherwise escape it); a harness whose server cannot run on this machine
skips with the reason from its ``serve``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from labelsync.providers import registry
from tests.providers.conformance.deepen import DeepenHarness
from tests.providers.conformance.harness import Harness, Server
from tests.providers.conformance.labelstudio import LabelStudioHarness
from tests.providers.conformance.tensorbay import TensorBayHarness

HARNESSES: dict[str, Callable[[], Harness]] = {
    "tensorbay": TensorBayHarness, "deepen": DeepenHarness, "labelstudio": LabelStudioHarness,
}


@pytest.fixture(params=registry.names())
def harness(request: pytest.FixtureRequest) -> Harness:
    name = str(request.param)
    make = HARNESSES.get(name)
    if make is None:
        pytest.fail(
            f"provider {name!r} is registered but gives the conformance suite no harness: add one to HARNESSES "
            "in tests/providers/conformance/conftest.py (docs/providers.md, 'Adding a provider')"
        )
    return make()


@pytest.fixture
def server(harness: Harness, tmp_path: Path) -> Iterator[Server]:
    with harness.serve(tmp_path / "server-state") as running:
        yield running
