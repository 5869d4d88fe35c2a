"""Fixtures for the action tests: a fake GitHub API on loopback and a GitHub-like runner
environment in which the action's entry point (``labelsync action-run``) is run."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from labelsync.cli import main as cli_main
from labelsync.github import invoke
from labelsync.plan.model import Action, Change, DatasetPlan, FileChange, Kind, Plan
from labelsync.plan.serialize import dumps_plan
from labelsync.state import Blob

from .fake_github import FakeGitHub

REPO = "octo-org/datasets"
PR_NUMBER = 7
HEAD_SHA = "0123456789abcdef0123456789abcdef01234567"
GITHUB_TOKEN = "ghs_fake_token_for_tests"
FAKE_CLI = Path(__file__).with_name("fake_cli.py")


@pytest.fixture(scope="session")
def fake_server() -> Iterator[tuple[FakeGitHub, str]]:
    fake = FakeGitHub(token=GITHUB_TOKEN)
    server = fake.serve()
    try:
        yield fake, server.url
    finally:
        server.stop()


@pytest.fixture
def github(fake_server: tuple[FakeGitHub, str]) -> Iterator[FakeGitHub]:
    """The fake GitHub, emptied for each test."""
    fake, _ = fake_server
    fake.comments.clear()
    fake.requests.clear()
    fake.read_only = False
    yield fake


def parse_outputs(text: str) -> dict[str, str]:
    """Read a ``$GITHUB_OUTPUT`` file written in ``name<<DELIM`` form (last value wins)."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            values[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
            i += 1
        else:
            i += 1
    return values


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    outputs_raw: str
    summary: str

    def log_without_masks(self) -> str:
        """stdout and stderr, minus the ``::add-mask::`` lines (which must name the secret)."""
        kept = [line for line in self.stdout.splitlines() if not line.startswith("::add-mask::")]
        return "\n".join(kept) + "\n" + self.stderr


class Harness:
    """A runner-like environment in a temporary workspace (``root``)."""

    def __init__(self, tmp_path: Path, api_url: str, monkeypatch: pytest.MonkeyPatch, capfd: Any) -> None:
        self.root = tmp_path / "workspace"
        self.root.mkdir()
        self.runner_temp = tmp_path / "runner-temp"
        self.runner_temp.mkdir()
        self.output_file = tmp_path / "github_output"
        self.summary_file = tmp_path / "step_summary"
        self.event_file = tmp_path / "event.json"
        self.scenario_file = tmp_path / "scenario.json"
        self.monkeypatch = monkeypatch
        self.capfd = capfd
        self.set_event(pull_request_event())
        self.env: dict[str, str] = {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(self.output_file),
            "GITHUB_STEP_SUMMARY": str(self.summary_file),
            "GITHUB_EVENT_PATH": str(self.event_file),
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_API_URL": api_url,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_RUN_ID": "4242",
            "GITHUB_SHA": "f" * 40,
            "GITHUB_WORKSPACE": str(self.root),
            "RUNNER_TEMP": str(self.runner_temp),
            "INPUT_COMMAND": "plan",
            "INPUT_PATHS": "",
            "INPUT_WORKING_DIRECTORY": ".",
            "INPUT_ARGS": "",
            "INPUT_COMMENT": "true",
            "INPUT_GITHUB_TOKEN": GITHUB_TOKEN,
            "INPUT_FAIL_ON_CHANGES": "false",
            "INPUT_PLAN_FILE": "",
        }

    def set_event(self, event: dict[str, Any]) -> None:
        self.event_file.write_text(json.dumps(event), encoding="utf-8")

    def inputs(self, **values: str) -> None:
        """Set action inputs by their action.yml names with ``_`` for ``-``."""
        for key, value in values.items():
            self.env[f"INPUT_{key.upper()}"] = value

    def scenario(self, steps: dict[str, dict[str, Any]]) -> None:
        """Use the fake CLI (``fake_cli.py``) with these per-command steps."""
        self.scenario_file.write_text(json.dumps(steps), encoding="utf-8")
        program = (sys.executable, str(FAKE_CLI), str(self.scenario_file))
        self.monkeypatch.setattr("labelsync.github.run.run_cli", functools.partial(invoke.run_cli, program=program))

    def cli_calls(self) -> list[dict[str, Any]]:
        calls = Path(str(self.scenario_file) + ".calls")
        if not calls.exists():
            return []
        return [json.loads(line) for line in calls.read_text().splitlines()]

    def write_plan(self, plan: Plan, name: str = "synthetic-plan.json") -> Path:
        path = self.root.parent / name
        path.write_text(dumps_plan(plan), encoding="utf-8")
        return path

    def _result(self, code: int, stdout: str, stderr: str) -> Result:
        raw = self.output_file.read_text(encoding="utf-8") if self.output_file.exists() else ""
        summary = self.summary_file.read_text(encoding="utf-8") if self.summary_file.exists() else ""
        return Result(code, stdout, stderr, parse_outputs(raw), raw, summary)

    def run(self) -> Result:
        """Run ``labelsync action-run`` in this process (the CLI's own ``main``)."""
        for key, value in self.env.items():
            self.monkeypatch.setenv(key, value)
        self.monkeypatch.chdir(self.root)
        self.capfd.readouterr()
        try:
            cli_main(["action-run"])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = self.capfd.readouterr()
        return self._result(code, captured.out, captured.err)

    def run_subprocess(self) -> Result:
        """Run ``python -m labelsync action-run`` as the action's step does."""
        env = {**os.environ, **self.env}
        done = subprocess.run(
            [sys.executable, "-m", "labelsync", "action-run"],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        return self._result(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def action(
    tmp_path: Path, fake_server: tuple[FakeGitHub, str], github: FakeGitHub, monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> Harness:
    return Harness(tmp_path, fake_server[1], monkeypatch, capfd)


def pull_request_event(number: int = PR_NUMBER, head_sha: str = HEAD_SHA) -> dict[str, Any]:
    """A trimmed ``pull_request`` (synchronize) event payload."""
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"sha": head_sha, "ref": "feature/new-segment"},
            "base": {"ref": "main"},
        },
        "repository": {"full_name": REPO},
    }


def make_plan(n_files: int = 3, *, dataset: str = "city-driving", with_changes: bool = True) -> Plan:
    """A real :class:`Plan` with one dataset create, a catalog update and ``n_files`` file creates."""
    changes: list[Change] = []
    if with_changes:
        changes.append(Change(Action.CREATE, Kind.DATASET, f"dataset.{dataset}", after={"type": "normal"}))
        changes.append(
            Change(Action.UPDATE, Kind.CATALOG, f"dataset.{dataset}/catalog", before={"BOX2D": {}}, after={"BOX2D": {"categories": [{"name": "car"}]}})
        )
        changes.extend(
            Change(
                Action.CREATE,
                Kind.FILE,
                f"dataset.{dataset}/segment.day/file.cam/{i:06d}.jpg",
                segment="day",
                after=FileChange(f"cam/{i:06d}.jpg", Blob(f"{i:040x}", 2048), source=f"data/day/cam/{i:06d}.jpg"),
                upload_bytes=2048,
            )
            for i in range(n_files)
        )
    return Plan(
        datasets=(
            DatasetPlan(
                name=dataset,
                remote="default",
                provider="tensorbay",
                kind="normal",
                base=None if with_changes else "c0ffee",
                desired_digest="sha1:" + "ab" * 20,
                changes=tuple(changes),
                manifest="datasets/city.yaml",
            ),
        ),
        created_at="2026-01-01T00:00:00Z",
        root=".",
    )
