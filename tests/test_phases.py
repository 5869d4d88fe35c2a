"""LABELSYNC_PROFILE phase timers: off by default (nothing recorded or printed), and on,
each phase's wall time and share, in first-seen order, with nested phases counted in both."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

import pytest

from labelsync import phases


def test_off_by_default_records_and_prints_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(phases, "ENABLED", False)
    monkeypatch.setattr(phases, "_totals", {})
    monkeypatch.setattr(phases, "_order", [])
    with phases.phase("scan"):
        pass
    out = io.StringIO()
    phases.report(out)
    assert out.getvalue() == "" and phases._totals == {}


def test_on_phases_add_up_and_are_reported_with_their_share(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(phases, "ENABLED", True)
    monkeypatch.setattr(phases, "_totals", {})
    monkeypatch.setattr(phases, "_order", [])
    for _ in range(2):
        with phases.phase("apply"), phases.phase("apply: files"):
            time.sleep(0.01)
    out = io.StringIO()
    phases.report(out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("labelsync profile: ") and "since the process started" in lines[0]
    assert [line.split()[0] for line in lines[1:]] == ["apply", "apply:"]
    assert phases._totals["apply"] >= phases._totals["apply: files"] >= 0.02
    assert phases.process_age() > 0


def test_the_cli_prints_phases_only_when_asked() -> None:
    env = {k: v for k, v in os.environ.items() if k != "LABELSYNC_PROFILE"}
    quiet = subprocess.run([sys.executable, "-m", "labelsync", "--version"], capture_output=True, text=True, env=env, check=True)
    loud = subprocess.run([sys.executable, "-m", "labelsync", "--version"], capture_output=True, text=True, env={**env, "LABELSYNC_PROFILE": "1"}, check=True)
    assert "labelsync profile" not in quiet.stderr
    assert "labelsync profile" in loud.stderr and "start-up (interpreter, imports)" in loud.stderr
