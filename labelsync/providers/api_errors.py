"""labelsync errors from HTTP answers and transport failures: one line, the right class, redacted.

:func:`raise_for_api` maps a non-2xx answer (its body read by :func:`extract_error`, which
knows the error shapes of TensorBay, Deepen/Django REST framework and GCS), and
:func:`translate_transport_errors` an httpx transport failure; both redact the request's
secret headers (:data:`SECRET_HEADERS`) and every registered secret
(:mod:`labelsync.redact`). Used by the API clients and the upload path alike. No I/O beyond
reading a response body already in hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from labelsync import errors
from labelsync.redact import redact

__all__ = ["RETRYABLE_ERRORS", "SECRET_HEADERS", "extract_error", "header_secrets", "raise_for_api", "translate_transport_errors"]

SECRET_HEADERS = frozenset({"x-token", "authorization", "proxy-authorization", "x-api-key", "cookie"})
"""Header names whose values are credentials (compared lower-case)."""

RETRYABLE_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)
"""Transport failures worth another attempt (a refused proxy or a bad URL are not)."""


def header_secrets(headers: httpx.Headers | Mapping[str, str]) -> list[str]:
    """The credential values among ``headers`` (a bare token too, from ``Bearer <token>``)."""
    out = []
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS and value:
            out.append(value)
            # "Bearer <token>" / "Token <token>": the bare token must go too.
            parts = value.split()
            out.extend(part for part in parts[1:] if len(part) >= 4)  # not the scheme word itself
    return out


def extract_error(response: httpx.Response) -> tuple[str | None, str]:
    """``(code, message)`` from an error body; both providers' shapes are understood.

    * TensorBay: ``{"code": "ResourceNotExist", "message": "..."}``
    * Deepen (Django REST framework): ``{"detail": "Not found."}`` or a field map
      ``{"name": ["This field is required."]}``
    * GCS uploads: ``{"error": {"code": 404, "message": "..."}}``
    * anything else: the first line of the text body, or the reason phrase.
    """
    try:
        response.read()
        body: Any = response.json()
    except (ValueError, httpx.HTTPError):
        body = None
    if isinstance(body, dict):
        if "code" in body and not isinstance(body["code"], dict | list):
            return str(body["code"]), str(body.get("message") or body.get("detail") or "")
        if "detail" in body:
            return None, str(body["detail"])
        error = body.get("error")
        if isinstance(error, dict):
            return None, str(error.get("message", ""))
        if isinstance(error, str):
            return None, error
        if body and all(isinstance(v, list | str) for v in body.values()):
            return None, "; ".join(
                f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in body.items()
            )
    try:
        text = response.text.strip()
    except (httpx.HTTPError, UnicodeDecodeError):
        text = ""
    if text and not text.lstrip().startswith("<"):
        return None, text.splitlines()[0]
    return None, response.reason_phrase


_MAX_MESSAGE = 300


def raise_for_api(
    response: httpx.Response,
    *,
    what: str,
    error_code_of: Callable[[httpx.Response], tuple[str | None, str]] = extract_error,
    token_env: str | None = None,
) -> None:
    """Return when ``response`` is 2xx; otherwise raise the matching labelsync error.

    The message is one line, ``"<what>: HTTP <status> <code>: <message>"`` (``<code>`` left
    out when the body has none), redacted. The class follows the status:

    ========  ===================================================================
    401, 403  :class:`~labelsync.errors.AuthError`, hint naming ``token_env``
    404       :class:`~labelsync.errors.NotFoundError`
    409       :class:`~labelsync.errors.ConflictError`
    429, 5xx  :class:`~labelsync.errors.TransientError` (the retries are spent)
    507       :class:`~labelsync.errors.RemoteError` (the remote's storage failed; not retried)
    other     :class:`~labelsync.errors.RemoteError`
    ========  ===================================================================
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    code, message = error_code_of(response)
    extra = header_secrets(response.request.headers) if _has_request(response) else []
    message = " ".join(message.split())
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 3] + "..."
    head = f"{what}: HTTP {status}" + (f" {code}" if code else "")
    # Redact the whole line: ``what`` may hold a URL and a cut may split nothing secret open.
    text = redact(f"{head}: {message}" if message else head, extra)
    cls: type[errors.RemoteError] = errors.RemoteError
    hint: str | None = None
    if status in (401, 403):
        cls = errors.AuthError
        where = f"${token_env}" if token_env else "the remote's token environment variable"
        hint = f"check the token in {where} and that it may access this resource"
    elif status == 404:
        cls = errors.NotFoundError
    elif status == 409:
        cls = errors.ConflictError
    elif status == 507:
        hint = "the remote cannot store anything more: free disk space on it (the local remote keeps its state under .labelsync/local/)"
    elif status == 429 or status >= 500:
        cls = errors.TransientError
        hint = "the remote is overloaded or failing; try again later (a re-run apply resumes)"
    raise cls(text, status=status, code=code, hint=hint)


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - raises RuntimeError when the response has no request
    except RuntimeError:
        return False
    return True


@contextmanager
def translate_transport_errors(what: str | None = None) -> Iterator[None]:
    """Turn httpx errors raised inside the block into labelsync errors (``from exc``).

    Connection failures, timeouts and dropped connections (already retried by the
    transport) become :class:`~labelsync.errors.TransientError`, other transport problems
    (bad URL, unsupported scheme) :class:`~labelsync.errors.RemoteError`, both with the
    message ``"[<what>: ]cannot reach <host>: <reason>"`` and a hint to check the url and the
    network. ``httpx.HTTPStatusError`` goes through :func:`raise_for_api`. Labelsync errors
    pass through unchanged.
    """
    try:
        yield
    except httpx.HTTPStatusError as exc:
        raise_for_api(exc.response, what=what or "request")
        raise  # pragma: no cover - raise_for_api always raises for a non-2xx status
    except httpx.HTTPError as exc:
        host = "the remote"
        extra: list[str] = []
        try:
            request = exc.request
        except RuntimeError:
            request = None
        if request is not None:
            host = request.url.netloc.decode("ascii", "replace").rsplit("@", 1)[-1]
            extra = header_secrets(request.headers)
        reason = redact(" ".join(str(exc).split()) or type(exc).__name__, extra)
        prefix = f"{what}: " if what else ""
        cls = errors.TransientError if isinstance(exc, RETRYABLE_ERRORS) else errors.RemoteError
        raise cls(
            f"{prefix}cannot reach {host}: {reason}",
            hint="check the remote's url (labelsync.yaml or LABELSYNC_REMOTE_<NAME>_URL) and the network",
        ) from exc
