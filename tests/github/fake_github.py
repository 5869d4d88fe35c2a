"""A loopback stand-in for the GitHub REST API's issue-comment endpoints.

It answers like api.github.com for the three calls the action makes, records every
request, and keeps comments in memory:

    GET   /repos/{owner}/{repo}/issues/{number}/comments   paged (per_page <= 100, page),
                                                           with a ``Link`` header (next, last)
    POST  /repos/{owner}/{repo}/issues/{number}/comments   201 + the comment
    PATCH /repos/{owner}/{repo}/issues/comments/{id}       200 + the comment

Errors as GitHub words them: 401 "Bad credentials" without the expected bearer token,
403 "Resource not accessible by integration" when ``read_only``, 404 "Not Found", and 422
"Validation Failed" for a body over 65,536 characters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from labelsync.emulator.runtime import EmbeddedServer

BODY_LIMIT = 65_536


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeGitHub:
    """The state and the ASGI app. ``default_per_page`` mirrors GitHub's 30."""

    token: str = "ghs_fake_token_for_tests"
    read_only: bool = False
    default_per_page: int = 30
    comments: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    _next_id: int = 1000

    def add_comment(self, repo: str, number: int, body: str, login: str = "someone") -> dict[str, Any]:
        """Seed a comment (as if a person or another bot had written it)."""
        self._next_id += 1
        comment = {
            "id": self._next_id,
            "repo": repo,
            "issue": number,
            "body": body,
            "user": {"login": login, "type": "User"},
            "html_url": f"https://github.com/{repo}/pull/{number}#issuecomment-{self._next_id}",
        }
        self.comments.append(comment)
        return comment

    def comments_on(self, repo: str, number: int) -> list[dict[str, Any]]:
        return [c for c in self.comments if c["repo"] == repo and c["issue"] == number]

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method in ("POST", "PATCH")]

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/repos/{owner}/{repo}/issues/{number:int}/comments", self._issue_comments, methods=["GET", "POST"]),
                Route("/repos/{owner}/{repo}/issues/comments/{id:int}", self._comment, methods=["PATCH"]),
            ]
        )

    async def _record(self, request: Request) -> Any:
        raw = await request.body()
        body: Any = None
        if raw:
            try:
                import json

                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
        self.requests.append(
            Recorded(request.method, request.url.path, request.url.query, dict(request.headers), body)
        )
        return body

    def _auth_error(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, "Bad credentials")
        return None

    async def _issue_comments(self, request: Request) -> Response:
        body = await self._record(request)
        if (denied := self._auth_error(request)) is not None:
            return denied
        repo = f"{request.path_params['owner']}/{request.path_params['repo']}"
        number = int(request.path_params["number"])
        if request.method == "POST":
            return self._write(body, lambda text: self.add_comment(repo, number, text, login="github-actions[bot]"), 201)
        per_page = min(int(request.query_params.get("per_page", self.default_per_page)), 100)
        page = max(int(request.query_params.get("page", 1)), 1)
        items = self.comments_on(repo, number)
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        base = str(request.url.replace(query="")).rstrip("/")
        links = []
        if page < last:
            links.append(f'<{base}?per_page={per_page}&page={page + 1}>; rel="next"')
            links.append(f'<{base}?per_page={per_page}&page={last}>; rel="last"')
        if page > 1:
            links.append(f'<{base}?per_page={per_page}&page=1>; rel="first"')
        if links:
            headers["Link"] = ", ".join(links)
        return JSONResponse([_public(c) for c in chunk], headers=headers)

    async def _comment(self, request: Request) -> Response:
        body = await self._record(request)
        if (denied := self._auth_error(request)) is not None:
            return denied
        wanted = int(request.path_params["id"])
        for comment in self.comments:
            if comment["id"] == wanted:

                def update(text: str, comment: dict[str, Any] = comment) -> dict[str, Any]:
                    comment["body"] = text
                    return comment

                return self._write(body, update, 200)
        return _error(404, "Not Found")

    def _write(self, body: Any, apply: Any, status: int) -> Response:
        if self.read_only:
            return _error(403, "Resource not accessible by integration")
        if not isinstance(body, dict) or not isinstance(body.get("body"), str):
            return _error(422, "Invalid request.\n\n\"body\" wasn't supplied.")
        if len(body["body"]) > BODY_LIMIT:
            return JSONResponse(
                {
                    "message": "Validation Failed",
                    "errors": [
                        {
                            "resource": "IssueComment",
                            "code": "custom",
                            "field": "body",
                            "message": f"body is too long (maximum is {BODY_LIMIT} characters)",
                        }
                    ],
                },
                status_code=422,
            )
        return JSONResponse(_public(apply(body["body"])), status_code=status)

    def serve(self) -> EmbeddedServer:
        """A started loopback server for this fake (stop it, or use it as a context manager)."""
        return EmbeddedServer(self.app).start()


def _public(comment: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in comment.items() if k not in ("repo", "issue")}


def _error(status: int, message: str) -> Response:
    return JSONResponse({"message": message, "documentation_url": "https://docs.github.com/rest"}, status_code=status)
