"""One real Label Studio server per test session (``tests/support/labelstudio.py``).

Tests that use :func:`labelstudio` carry the ``labelstudio`` marker. Without a label-studio
executable they are skipped with the install command, unless ``LABELSYNC_REQUIRE=labelstudio``
(CI) makes that a failure. The environment is read when this module is imported, before the
autouse fixture of ``tests/conftest.py`` clears ``LABELSYNC_*`` for each test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import labelstudio as support

_ENV = support.STARTUP_ENV


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Under ``LABELSYNC_REQUIRE=labelstudio`` a skipped ``labelstudio`` test is a failure."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and support.required(_ENV) and item.get_closest_marker("labelstudio"):
        report.outcome = "failed"
        report.longrepr = f"{support.REQUIRE_ENV}=labelstudio, but this test was skipped: {report.longrepr}"


@pytest.fixture(scope="session")
def labelstudio() -> Iterator[support.Server]:
    """The running server (``url``, ``legacy_token``, ``personal_token()``); stopped at the end."""
    binary = support.binary_or_skip(_ENV)
    server = support.start(binary)
    print(f"\nlabel-studio ready in {server.start_seconds:.1f} s (template {'reused' if server.from_template else 'built'})")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ls_client(labelstudio: support.Server):
    """A client with the legacy token."""
    from labelsync.providers.labelstudio.client import LabelStudioClient

    with LabelStudioClient(labelstudio.url, labelstudio.legacy_token, token_env="LS_TOKEN") as client:
        yield client


@pytest.fixture
def project(ls_client):
    """A fresh project (BOX2D car/ped) with a unique title, deleted at the end."""
    from labelsync.providers.labelstudio.config import label_config

    catalog = {"BOX2D": {"categories": [{"name": "car"}, {"name": "ped"}]}}
    import uuid

    created = ls_client.create_project(f"labelsync:test/{uuid.uuid4().hex[:12]}", label_config(catalog))
    yield created
    ls_client.delete_project(created.id)
