"""One pull-request comment per plan, found by a hidden marker and updated in place.

The REST calls (``{api}`` is ``GITHUB_API_URL``)::

    GET   {api}/repos/{owner}/{repo}/issues/{number}/comments?per_page=100   (follows Link rel="next")
    POST  {api}/repos/{owner}/{repo}/issues/{number}/comments                {"body": ...}
    PATCH {api}/repos/{owner}/{repo}/issues/comments/{id}                   {"body": ...}

The first comment whose body contains the marker (an HTML comment, invisible when
rendered) is updated; if none does, one is created. ``Link`` URLs are followed only when
they stay under ``GITHUB_API_URL``, so the token is never sent elsewhere. Failures raise
:class:`~labelsync.errors.RemoteError` with GitHub's message and the HTTP status.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from labelsync import __version__
from labelsync.errors import AuthError, RemoteError

PER_PAGE = 100
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    data: Any


class GitHubApi:
    """A minimal GitHub REST client: JSON in, JSON out, bearer token auth."""

    def __init__(self, api_url: str, token: str, *, timeout: float = 30.0) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.timeout = timeout

    def request(self, method: str, url: str, body: Any = None) -> Response:
        """Send one request to ``url`` (absolute, or a path under the API URL)."""
        if not url.startswith(("http://", "https://")):
            url = f"{self.api_url}/{url.lstrip('/')}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/vnd.github+json")
        req.add_header("X-GitHub-Api-Version", "2022-11-28")
        req.add_header("User-Agent", f"labelsync/{__version__}")
        if self._token:
            req.add_header("Authorization", f"Bearer {self._token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
                return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()}, _json(raw))
        except urllib.error.HTTPError as exc:
            detail = _message(_json(exc.read()))
            where = f"{method} {url.split('?')[0].removeprefix(self.api_url)}"
            kind = AuthError if exc.code in (401, 403) else RemoteError
            hint = (
                "the token needs `pull-requests: write` (or `issues: write`); pull requests from forks get a read-only token"
                if exc.code in (401, 403, 404)
                else None
            )
            raise kind(f"GitHub API {where}: HTTP {exc.code} {detail}".rstrip(), status=exc.code, hint=hint) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RemoteError(f"cannot reach the GitHub API at {self.api_url}: {reason}") from None

    def next_link(self, response: Response) -> str | None:
        """The ``rel="next"`` URL of a paged response, if it stays under the API URL."""
        match = _LINK_NEXT.search(response.headers.get("link", ""))
        if match and match.group(1).startswith(self.api_url + "/"):
            return match.group(1)
        return None


@dataclass(frozen=True)
class CommentResult:
    """What :func:`upsert_comment` did: ``action`` is ``"created"`` or ``"updated"``."""

    action: str
    id: int
    url: str


def find_comment(api: GitHubApi, repository: str, number: int, marker: str) -> dict[str, Any] | None:
    """The first comment on issue/PR ``number`` whose body contains ``marker``, reading
    every page; ``None`` when there is none."""
    url: str | None = f"repos/{repository}/issues/{number}/comments?per_page={PER_PAGE}"
    while url:
        response = api.request("GET", url)
        if not isinstance(response.data, list):
            raise RemoteError(f"GitHub API: unexpected answer listing comments of #{number}")
        for comment in response.data:
            if isinstance(comment, dict) and marker in str(comment.get("body") or ""):
                return comment
        url = api.next_link(response)
    return None


def upsert_comment(api: GitHubApi, repository: str, number: int, marker: str, body: str) -> CommentResult:
    """Update the comment carrying ``marker`` with ``body``, or create it.

    ``body`` must contain ``marker`` (so the next run finds it); a :class:`ValueError`
    otherwise, since that is a programming error.
    """
    if marker not in body:
        raise ValueError("the comment body must contain its marker")
    existing = find_comment(api, repository, number, marker)
    if existing is not None:
        response = api.request("PATCH", f"repos/{repository}/issues/comments/{existing['id']}", {"body": body})
        action = "updated"
    else:
        response = api.request("POST", f"repos/{repository}/issues/{number}/comments", {"body": body})
        action = "created"
    data = response.data if isinstance(response.data, dict) else {}
    return CommentResult(action, int(data.get("id", 0)), str(data.get("html_url", "")))


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _message(data: Any) -> str:
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])
    return ""
