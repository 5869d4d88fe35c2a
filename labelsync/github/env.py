"""The GitHub Actions runner environment, read once into a value.

Only what the action needs: where to write outputs and the step summary, the triggering
event, and the REST API coordinates. Every field is optional so the entry point also runs
outside Actions (then outputs and comments are skipped, not failed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labelsync.errors import UsageError


@dataclass(frozen=True)
class GitHubEnv:
    """A snapshot of the ``GITHUB_*`` / ``RUNNER_*`` variables the action uses."""

    output_path: Path | None = None
    summary_path: Path | None = None
    event_path: Path | None = None
    event_name: str = ""
    api_url: str = "https://api.github.com"
    server_url: str = "https://github.com"
    repository: str = ""
    run_id: str = ""
    workspace: Path | None = None
    runner_temp: Path | None = None
    sha: str = ""
    event: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> GitHubEnv:
        """Read the variables from ``environ``; load the event JSON when ``GITHUB_EVENT_PATH`` is set.

        Raises :class:`UsageError` when the event file exists but is not a JSON object.
        """

        def path(name: str) -> Path | None:
            value = environ.get(name, "")
            return Path(value) if value else None

        event_path = path("GITHUB_EVENT_PATH")
        return cls(
            output_path=path("GITHUB_OUTPUT"),
            summary_path=path("GITHUB_STEP_SUMMARY"),
            event_path=event_path,
            event_name=environ.get("GITHUB_EVENT_NAME", ""),
            api_url=(environ.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
            server_url=(environ.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/"),
            repository=environ.get("GITHUB_REPOSITORY", ""),
            run_id=environ.get("GITHUB_RUN_ID", ""),
            workspace=path("GITHUB_WORKSPACE"),
            runner_temp=path("RUNNER_TEMP"),
            sha=environ.get("GITHUB_SHA", ""),
            event=_load_event(event_path),
        )

    @property
    def pull_request_number(self) -> int | None:
        """The pull request this run is about (``pull_request``/``pull_request_target``/
        ``issue_comment`` on a pull request), or ``None``."""
        pr = self.event.get("pull_request")
        if isinstance(pr, dict) and isinstance(pr.get("number"), int):
            return int(pr["number"])
        issue = self.event.get("issue")
        if isinstance(issue, dict) and issue.get("pull_request") and isinstance(issue.get("number"), int):
            return int(issue["number"])
        return None

    @property
    def head_sha(self) -> str:
        """The commit being planned: the pull request's head, else ``GITHUB_SHA``."""
        pr = self.event.get("pull_request")
        if isinstance(pr, dict):
            head = pr.get("head")
            if isinstance(head, dict) and isinstance(head.get("sha"), str):
                return str(head["sha"])
        return self.sha

    @property
    def run_url(self) -> str:
        """Link to this workflow run, or ``""`` outside Actions."""
        if not (self.repository and self.run_id):
            return ""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"


def _load_event(path: Path | None) -> dict[str, Any]:
    if path is None or not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"GITHUB_EVENT_PATH {path}: cannot read the event JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise UsageError(f"GITHUB_EVENT_PATH {path}: the event is not a JSON object")
    return doc
