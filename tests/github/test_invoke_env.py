"""Running the CLI child (scrubbed streaming) and reading the runner environment."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from labelsync.errors import UsageError
from labelsync.github.env import GitHubEnv
from labelsync.github.invoke import run_cli
from labelsync.github.mask import Scrubber

CHILD = (
    "import sys\n"
    "print('out line with hunter2-secret')\n"
    "print('err line', file=sys.stderr)\n"
    "sys.exit(int(sys.argv[1]))\n"
)


def test_run_cli_scrubs_echoes_and_keeps_the_tail(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    done = run_cli(["7"], cwd=tmp_path, env={}, scrub=Scrubber(["hunter2-secret"]), program=(sys.executable, "-c", CHILD))
    captured = capfd.readouterr()

    assert done.exit_code == 7
    assert done.stdout == "out line with ***\n"
    assert sorted(done.log_tail.splitlines()) == ["err line", "out line with ***"]
    assert captured.out == "out line with ***\n" and captured.err == "err line\n"


def test_run_cli_quiet(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    done = run_cli(["0"], cwd=tmp_path, env={}, scrub=Scrubber([]), echo=False, program=(sys.executable, "-c", CHILD))
    assert done.exit_code == 0 and "hunter2-secret" in done.stdout
    assert capfd.readouterr().out == ""


def test_run_cli_that_cannot_start(tmp_path: Path) -> None:
    done = run_cli([], cwd=tmp_path, env={}, scrub=Scrubber([]), program=(str(tmp_path / "missing"),))
    assert done.exit_code == 1 and done.log_tail.startswith("cannot run labelsync:")


def test_github_env_from_a_pull_request_event(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 12, "head": {"sha": "abc"}}}))
    gh = GitHubEnv.from_environ(
        {
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_API_URL": "https://ghe.example/api/v3/",
            "GITHUB_REPOSITORY": "o/r",
            "GITHUB_RUN_ID": "9",
            "GITHUB_SHA": "def",
        }
    )
    assert gh.pull_request_number == 12 and gh.head_sha == "abc"
    assert gh.api_url == "https://ghe.example/api/v3"
    assert gh.run_url == "https://github.com/o/r/actions/runs/9"


def test_github_env_issue_comment_on_a_pull_request(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"issue": {"number": 5, "pull_request": {"url": "x"}}}))
    assert GitHubEnv.from_environ({"GITHUB_EVENT_PATH": str(event)}).pull_request_number == 5
    event.write_text(json.dumps({"issue": {"number": 5}}))
    assert GitHubEnv.from_environ({"GITHUB_EVENT_PATH": str(event)}).pull_request_number is None


def test_github_env_outside_actions() -> None:
    gh = GitHubEnv.from_environ({})
    assert gh.output_path is None and gh.pull_request_number is None and gh.run_url == ""
    assert gh.api_url == "https://api.github.com"


@pytest.mark.parametrize("content", ["not json", "[1, 2]"])
def test_bad_event_file(tmp_path: Path, content: str) -> None:
    event = tmp_path / "event.json"
    event.write_text(content)
    with pytest.raises(UsageError, match="GITHUB_EVENT_PATH"):
        GitHubEnv.from_environ({"GITHUB_EVENT_PATH": str(event)})
