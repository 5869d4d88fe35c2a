"""Shared fixtures. An autouse fixture keeps the user's environment out of every test."""

from __future__ import annotations

import os

import pytest


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
    outcome = yield
    report = outcome.get_result()
    if _NO_SKIPS and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
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
