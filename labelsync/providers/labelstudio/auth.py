"""Label Studio authentication and error answers (``api/labelstudio.md`` §2).

Both kinds of token are accepted, told apart by shape (:func:`token_kind`):

* a **personal access token** (PAT, a JWT with two dots) is a refresh token: it is exchanged at
  ``POST /api/token/refresh/`` for an access token sent as ``Authorization: Bearer``. The
  access token is renewed when less than :data:`RENEW_MARGIN` seconds of its ``exp`` are left,
  and once more when the server answers 401 anyway;
* a **legacy token** is sent as ``Authorization: Token <hex>``.

Tokens (the PAT and every access token) are registered for redaction and never reach a message.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Generator
from typing import Any

import httpx

from labelsync.providers.answers import parse_answer
from labelsync.providers.http import extract_error, raise_for_api, register_secret
from labelsync.providers.labelstudio.wire import AccessToken

RENEW_MARGIN = 30.0
"""Seconds before an access token's expiry at which it is renewed."""


def token_kind(token: str) -> str:
    """``"pat"`` for a JWT (two dots), ``"legacy"`` otherwise."""
    return "pat" if token.count(".") == 2 else "legacy"


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim (epoch seconds) of a JWT, read without checking the signature; None if absent."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims.get("exp")
    except (IndexError, ValueError, AttributeError):
        return None
    return float(exp) if isinstance(exp, int | float) else None


def error_of(response: httpx.Response) -> tuple[str | None, str]:
    """``(code, message)`` of a Label Studio error: ``detail`` plus every ``validation_errors`` entry."""
    try:
        body = response.json() if is_json(response) else None
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("validation_errors"), dict):
        messages = [str(m) for value in body["validation_errors"].values() for m in _as_list(value)]
        return None, " ".join(messages) or str(body.get("detail") or "")
    if isinstance(body, dict) and "detail" in body:
        return None, str(body["detail"])
    return extract_error(response)


def validation_messages(response: httpx.Response) -> list[str]:
    """The lines of every message of a 400 answer: ``{"validation_errors": {field: [msg]}}`` or
    a plain field map ``{field: [msg]}``."""
    try:
        body = response.json()
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    found = body.get("validation_errors", body)
    if not isinstance(found, dict) or not all(isinstance(v, list | str) for v in found.values()):
        return []
    return [line.strip() for value in found.values() for m in _as_list(value) for line in str(m).splitlines() if line.strip()]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def is_json(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json"


class TokenAuth(httpx.Auth):
    """The ``Authorization`` header for either kind of token; see the module docstring.

    ``clock`` gives epoch seconds (injectable for tests). The refresh request goes through the
    same (retrying) transport as every other request.
    """

    requires_response_body = True

    def __init__(self, token: str, refresh_url: str, *, token_env: str | None, clock: Callable[[], float]) -> None:
        self.token = token
        self.kind = token_kind(token)
        self.refresh_url = refresh_url
        self.token_env = token_env
        self.clock = clock
        self.refreshes = 0
        self._access: str | None = None
        self._expires: float | None = None
        self._lock = threading.Lock()
        register_secret(token)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.kind == "legacy":
            request.headers["Authorization"] = f"Token {self.token}"
            yield request
            return
        with self._lock:
            access, expires = self._access, self._expires
        if access is None or (expires is not None and expires - self.clock() < RENEW_MARGIN):
            access = yield from self._refresh()
        request.headers["Authorization"] = f"Bearer {access}"
        response = yield request
        if response.status_code == 401:
            access = yield from self._refresh()
            request.headers["Authorization"] = f"Bearer {access}"
            yield request

    def _refresh(self) -> Generator[httpx.Request, httpx.Response, str]:
        response = yield httpx.Request("POST", self.refresh_url, json={"refresh": self.token})
        raise_for_api(response, what="Label Studio token refresh", error_code_of=error_of, token_env=self.token_env)
        access = parse_answer(response, what="Label Studio token refresh", shape=AccessToken).access
        register_secret(access)
        with self._lock:
            self._access, self._expires = access, jwt_expiry(access)
            self.refreshes += 1
        return access
