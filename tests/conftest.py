"""Shared fixtures. An autouse fixture keeps the user's environment out of every test.

``LABELSYNC_REQUIRE`` is a comma-separated list of markers (``labelstudio,browser``) whose
tests must run: a test carrying a listed marker that is skipped (its tool is missing) fails
instead. CI sets it; locally such tests skip with the reason. It is read when this module is
imported, before :func:`clean_environ` clears ``LABELSYNC_*`` for each test.
"""

from __future__ import annotations

import os

import pytest

REQUIRE_ENV = "LABELSYNC_REQUIRE"
REQUIRED = frozenset(p.strip() for p in os.environ.get(REQUIRE_ENV, "").split(",") if p.strip())


def required(marker: str) -> bool:
    """True when ``$LABELSYNC_REQUIRE`` lists ``marker``."""
    return marker in REQUIRED


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove LABELSYNC_*, GITHUB_*, TENSORBAY_* and DEEPEN_* variables for each test."""
    for key in list(os.environ):
        if key.startswith(("LABELSYNC_", "GITHUB_", "TENSORBAY_", "DEEPEN_")):
            monkeypatch.delenv(key, raising=False)


NO_SKIPS_ENV = "LABELSYNC_NO_SKIPS"
"""Set by CI (``.ci/run``): every test must run there, so a skipped test is a failure
(the official SDK, the real Label Studio and the browser are all installed in CI)."""
_NO_SKIPS = os.environ.get(NO_SKIPS_ENV) == "1"  # read at import, before clean_environ runs


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """A skipped test is a failure when ``$LABELSYNC_REQUIRE`` lists one of its markers, or
    under ``$LABELSYNC_NO_SKIPS`` (CI)."""
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
    names = sorted(REQUIRED & {m.name for m in item.iter_markers()})
    if names:
        report.outcome = "failed"
        report.longrepr = f"{REQUIRE_ENV} lists {names[0]}, but this test was skipped: {reason}"
    elif _NO_SKIPS:
        report.outcome = "failed"
        report.longrepr = f"{NO_SKIPS_ENV}=1 (CI runs every test), but this test was skipped: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):  # type: ignore[no-untyped-def]
    """A whole module skipped at import (``pytest.importorskip``) fails too under ``NO_SKIPS_ENV``."""
    outcome = yield
    report = outcome.get_result()
    if _NO_SKIPS and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"{NO_SKIPS_ENV}=1 (CI runs every test), but this module was skipped: {reason}"


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (pyproject.toml): one worker per CPU this process may use, at most 4 (each
    worker that runs a Label Studio test starts its own server; timing tests want idle cores)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))
