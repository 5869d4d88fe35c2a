"""Reading API answers at the boundary: JSON of the right shape, or one clear server error.

Both providers' clients send every API request through :func:`request_json`. An answer the
client cannot use (not JSON, an HTML page with status 200, truncated, empty where a body is
expected, the wrong shape: a missing key, a list where an object belongs, ``null``, a count
beyond :data:`MAX_COUNT`) raises :class:`~labelsync.errors.BadAnswerError` with one line::

    list segments (GET /v1/datasets/x/segments): unusable answer (HTTP 200, text/html): not JSON

A bad answer to a request that is safe to repeat (:data:`~labelsync.providers.http.SAFE_METHODS`,
or one marked ``retry=True``) is asked again, with the transport's backoff, before it is
reported. Shapes are small ``TypedDict`` wire models (extra keys kept, so callers see the
whole object) validated by pydantic; :data:`Count` is a non-negative bounded integer.

:func:`converge` is the other half of "retry only what is safe": a write that must not be
repeated blindly (creating a dataset, opening a draft, committing) is followed, after an
ambiguous failure (no answer, a 5xx, a bad answer), by a look for its effect before it is
sent again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

import httpx
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, with_config

from labelsync import errors
from labelsync.providers.http import (
    NO_RETRY,
    SAFE_METHODS,
    RetryPolicy,
    raise_for_api,
    translate_transport_errors,
)

__all__ = ["MAX_COUNT", "WIRE", "Count", "converge", "parse_answer", "request_json", "wire"]

MAX_COUNT = 10_000_000
"""The largest ``totalCount`` believed: more items than any labelling dataset holds."""

Count = Annotated[int, Field(ge=0, le=MAX_COUNT, strict=True)]

WIRE = ConfigDict(extra="allow")
"""The config of every wire model: unknown keys are kept as they are."""

T = TypeVar("T")
_adapters: dict[Any, TypeAdapter[Any]] = {}


def wire(cls: type[T]) -> type[T]:
    """Decorate a ``typing_extensions.TypedDict`` as a wire model (extra keys allowed)."""
    return with_config(WIRE)(cls)


def _adapter(shape: Any) -> TypeAdapter[Any]:
    adapter = _adapters.get(shape)
    if adapter is None:
        adapter = _adapters[shape] = TypeAdapter(shape)
    return adapter


def _bad(what: str, response: httpx.Response, problem: str) -> errors.BadAnswerError:
    ctype = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    try:
        request = f" ({response.request.method} {response.request.url.path})"
    except RuntimeError:
        request = ""
    return errors.BadAnswerError(
        f"{what}{request}: unusable answer (HTTP {response.status_code}, {ctype}): {problem}",
        status=response.status_code,
        hint="the remote (or a proxy in front of it) is misbehaving; check the remote's url and try again later",
    )


def parse_answer(response: httpx.Response, *, what: str, shape: Any = None, empty: Any = None) -> Any:
    """The JSON of a 2xx ``response`` checked against ``shape`` (any pydantic-validatable type).

    An empty body is ``empty`` when that is given (a write answered ``204``), else a bad
    answer. Raises :class:`~labelsync.errors.BadAnswerError` for anything unusable.
    """
    raw = response.content
    if not raw.strip():
        if empty is not None:
            return empty
        raise _bad(what, response, "empty body")
    try:
        body = json.loads(raw)
    except UnicodeDecodeError:
        raise _bad(what, response, "not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        problem = "an HTML page, not JSON" if raw.lstrip()[:1] == b"<" else f"not JSON ({exc.msg.removesuffix(' at')} at byte {exc.pos})"
        raise _bad(what, response, problem) from None
    if shape is None:
        return body
    try:
        return _adapter(shape).validate_python(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the body"
        got = type(first.get("input")).__name__ if first["type"] != "missing" else ""
        detail = f"{where}: {first['msg'].lower()}" + (f" (got {got})" if got and got != "dict" else "")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise _bad(what, response, f"wrong shape, {detail}{more}") from None


def request_json(
    client: httpx.Client,
    method: str,
    path: str,
    *,
    what: str,
    shape: Any = None,
    empty: Any = None,
    params: Mapping[str, Any] | None = None,
    json_body: Any = None,
    token_env: str | None = None,
    retry: bool | None = None,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Send one API request and return its checked JSON (see :func:`parse_answer`).

    ``retry`` marks a POST/PATCH safe to repeat (or forbids retrying with ``False``); the
    transport retries failures, and a bad answer to a safe request is asked again here.
    """
    extensions = {NO_RETRY: retry} if retry is not None else None
    safe = method in SAFE_METHODS if retry is None else retry
    retrying = getattr(client._transport, "policy", None)  # noqa: SLF001 - the RetryTransport built by make_client
    policy = policy or (retrying if isinstance(retrying, RetryPolicy) else RetryPolicy())
    attempt = 0
    while True:
        with translate_transport_errors(what):
            response = client.request(method, path, params=dict(params) if params else None, json=json_body, extensions=extensions)
        raise_for_api(response, what=what, token_env=token_env)
        try:
            return parse_answer(response, what=what, shape=shape, empty=empty)
        except errors.BadAnswerError:
            delay = policy.after_error(attempt) if safe else None
            if delay is None:
                raise
        attempt += 1
        sleep(delay)


def converge(write: Callable[[], T], look: Callable[[], T | None], *, attempts: int = 3, sleep: Callable[[float], None] = time.sleep) -> T:
    """``write()`` once; after an ambiguous failure, ``look()`` for its effect before writing again.

    Ambiguous: the answer was lost, a 5xx/429 or a bad answer came back (the write may have
    happened). ``look()`` returns the write's result when it finds that the write did happen,
    else None. A conflict after an ambiguous attempt is also settled by looking (the lost
    write took the name). Other errors pass through.
    """
    policy = RetryPolicy()
    ambiguous = False
    for attempt in range(attempts):
        try:
            return write()
        except errors.DeadlineError:
            raise
        except errors.ConflictError:
            if not ambiguous:
                raise
            found = look()
            if found is not None:
                return found
            raise
        except errors.TransientError:
            if attempt == attempts - 1:
                found = look()
                if found is not None:
                    return found
                raise
        ambiguous = True
        found = look()
        if found is not None:
            return found
        sleep(policy.backoff(attempt))
    raise AssertionError("unreachable")  # pragma: no cover
