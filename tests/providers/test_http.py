"""providers.http: retries (MockTransport and real loopback), error mapping, redaction."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from labelsync import errors
from labelsync.emulator.runtime import EmbeddedServer, FaultConfig, Knobs
from labelsync.providers.http import (
    NO_RETRY,
    STREAM,
    RetryTransport,
    Stats,
    client_stats,
    extract_error,
    make_client,
    raise_for_api,
    redact,
    redact_url,
    translate_transport_errors,
)

TOKEN = "ACCESSKEY-0123456789abcdef0123456789abcdef"


class Script:
    """A MockTransport handler answering from a list of steps (a Response or an exception)."""

    def __init__(self, *steps: httpx.Response | Exception) -> None:
        self.steps = list(steps)
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.seen.append(request)
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def client_for(script: Script, sleeps: list[float], **kwargs: Any) -> httpx.Client:
    return make_client(
        "https://api.example/v1/",
        headers={"X-Token": TOKEN},
        transport=httpx.MockTransport(script),
        sleep=sleeps.append,
        **kwargs,
    )


def test_429_with_retry_after_seconds_is_honoured() -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={"ok": 1}))
    sleeps: list[float] = []
    with client_for(script, sleeps) as client:
        response = client.get("datasets")
        assert response.json() == {"ok": 1}
        assert sleeps == [7.0]
        stats = client_stats(client)
        assert (stats.requests, stats.retries) == (2, 1)
        assert stats.by_status == {429: 1, 200: 1}


def test_retry_after_http_date_is_relative_to_clock() -> None:
    inner = httpx.MockTransport(
        Script(
            httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
            httpx.Response(200),
        )
    )
    sleeps: list[float] = []
    # 2015-10-21T07:27:30Z, 30 s before the date above.
    transport = RetryTransport(inner, sleep=sleeps.append, clock=lambda: 1445412450.0)
    with httpx.Client(transport=transport) as client:
        assert client.get("https://h/x").status_code == 200
    assert sleeps == [30.0]


def test_503_then_200_uses_full_jitter_backoff() -> None:
    script = Script(httpx.Response(503), httpx.Response(502), httpx.Response(200))
    sleeps: list[float] = []
    transport = RetryTransport(httpx.MockTransport(script), sleep=sleeps.append, rand=lambda: 0.5)
    with httpx.Client(transport=transport) as client:
        assert client.put("https://h/x", content=b"body").status_code == 200
    # base 0.2 s doubling, times the jitter draw 0.5
    assert sleeps == [0.1, 0.2]
    assert [r.content for r in script.seen] == [b"body", b"body", b"body"]


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [(0, 0.2), (1, 0.4), (2, 0.8), (5, 6.4), (6, 10.0), (30, 10.0)],
)
def test_backoff_ceiling_is_capped_at_10_seconds(attempt: int, expected: float) -> None:
    transport = RetryTransport(httpx.MockTransport(Script()), rand=lambda: 1.0)
    assert transport.backoff(attempt) == pytest.approx(expected)


def test_exhausted_retries_become_transient_error() -> None:
    script = Script(*[httpx.Response(503, json={"code": "SystemError", "message": "busy"}) for _ in range(4)])
    sleeps: list[float] = []
    with client_for(script, sleeps, max_retries=3) as client:
        response = client.put("datasets", json={"name": "a"})
        with pytest.raises(errors.TransientError) as info:
            raise_for_api(response, what="create dataset a")
    assert len(script.seen) == 4
    assert len(sleeps) == 3
    assert str(info.value) == "create dataset a: HTTP 503 SystemError: busy"
    assert info.value.status == 503


def test_connection_errors_are_retried_then_translated() -> None:
    request = httpx.Request("GET", "https://api.example/v1/datasets")
    script = Script(
        httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body", request=request
        ),
        httpx.ReadTimeout("timed out", request=request),
        httpx.ConnectError("[Errno 111] Connection refused", request=request),
    )
    sleeps: list[float] = []
    client = client_for(script, sleeps, max_retries=2)
    with pytest.raises(errors.TransientError) as info, translate_transport_errors("list datasets"), client:
        client.get("datasets")
    assert len(script.seen) == 3
    assert str(info.value) == "list datasets: cannot reach api.example: [Errno 111] Connection refused"
    assert info.value.hint is not None and "url" in info.value.hint
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_non_retryable_request_is_sent_once() -> None:
    script = Script(httpx.Response(503), httpx.Response(200))
    sleeps: list[float] = []
    with client_for(script, sleeps) as client:
        response = client.post("commits", json={}, extensions={NO_RETRY: False})
    assert response.status_code == 503
    assert len(script.seen) == 1
    assert sleeps == []


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_writes_not_safe_to_repeat_are_sent_once_unless_marked(method: str) -> None:
    """A retried POST can create a duplicate: only marked POST/PATCH requests are repeated."""
    script = Script(httpx.Response(503), httpx.Response(200))
    with client_for(script, []) as client:
        assert client.request(method, "datasets", json={}).status_code == 503
    assert len(script.seen) == 1
    script = Script(httpx.Response(503), httpx.Response(200))
    with client_for(script, []) as client:
        assert client.request(method, "datasets", json={}, extensions={NO_RETRY: True}).status_code == 200
    assert len(script.seen) == 2


def test_streamed_body_is_not_retried() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"a"
        yield b"b"

    script = Script(httpx.Response(500), httpx.Response(200))
    sleeps: list[float] = []
    with client_for(script, sleeps) as client:
        assert client.put("blob", content=chunks()).status_code == 500
    assert len(script.seen) == 1


def test_multipart_body_is_replayed() -> None:
    script = Script(httpx.Response(500), httpx.Response(204))
    sleeps: list[float] = []
    with client_for(script, sleeps) as client:
        response = client.post(
            "https://upload.example/", data={"key": "k"}, files={"file": ("a.jpg", b"JPEG")}, extensions={NO_RETRY: True}
        )
    assert response.status_code == 204
    assert script.seen[0].content == script.seen[1].content
    assert b"JPEG" in script.seen[1].content


def test_404_is_not_retried() -> None:
    script = Script(httpx.Response(404, json={"code": "ResourceNotExist", "message": "no dataset"}))
    with client_for(script, []) as client:
        assert client.get("datasets/x").status_code == 404
    assert len(script.seen) == 1


def test_retry_after_longer_than_max_gives_up() -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "3600"}), httpx.Response(200))
    sleeps: list[float] = []
    transport = RetryTransport(httpx.MockTransport(script), sleep=sleeps.append, retry_after_max=60)
    with httpx.Client(transport=transport) as client:
        assert client.get("https://h/x").status_code == 429
    assert sleeps == []


def test_stats_passed_in_are_shared() -> None:
    stats = Stats()
    script = Script(httpx.Response(500), httpx.Response(200), httpx.Response(200))
    with client_for(script, [], stats=stats) as client:
        client.get("a")
        client.get("b")
    assert (stats.requests, stats.retries) == (3, 1)
    assert stats.summary() == "3 requests, 1 retries"


# --- error mapping -------------------------------------------------------------------------


def answer(status: int, body: bytes | str, content_type: str = "application/json") -> httpx.Response:
    request = httpx.Request("GET", "https://api.example/v1/datasets", headers={"X-Token": TOKEN})
    data = body.encode() if isinstance(body, str) else body
    return httpx.Response(status, content=data, headers={"content-type": content_type}, request=request)


@pytest.mark.parametrize(
    ("status", "body", "cls", "message"),
    [
        (
            401,
            '{"code": "Unauthorized", "message": "Invalid access key"}',
            errors.AuthError,
            "get dataset city: HTTP 401 Unauthorized: Invalid access key",
        ),
        (
            403,
            '{"detail": "Invalid token."}',
            errors.AuthError,
            "get dataset city: HTTP 403: Invalid token.",
        ),
        (
            404,
            '{"code": "ResourceNotExist", "message": "Dataset city does not exist", "success": false}',
            errors.NotFoundError,
            "get dataset city: HTTP 404 ResourceNotExist: Dataset city does not exist",
        ),
        (
            404,
            '{"detail": "Not found."}',
            errors.NotFoundError,
            "get dataset city: HTTP 404: Not found.",
        ),
        (
            409,
            '{"code": "NameConflict", "message": "name city is taken"}',
            errors.ConflictError,
            "get dataset city: HTTP 409 NameConflict: name city is taken",
        ),
        (
            429,
            '{"code": "TooManyRequests", "message": "slow down"}',
            errors.TransientError,
            "get dataset city: HTTP 429 TooManyRequests: slow down",
        ),
        (
            500,
            '{"code": "InternalServerError", "message": "boom\\nsecond line"}',
            errors.TransientError,
            "get dataset city: HTTP 500 InternalServerError: boom second line",
        ),
        (
            502,
            "<html><body>Bad gateway</body></html>",
            errors.TransientError,
            "get dataset city: HTTP 502: Bad Gateway",
        ),
        (
            400,
            '{"name": ["This field is required."], "file_size": ["Must be positive."]}',
            errors.RemoteError,
            "get dataset city: HTTP 400: name: This field is required.; file_size: Must be positive.",
        ),
        (
            400,
            '{"code": "InvalidParamsValue", "message": "catalog is empty"}',
            errors.RemoteError,
            "get dataset city: HTTP 400 InvalidParamsValue: catalog is empty",
        ),
        (
            404,
            '{"error": {"code": 404, "message": "upload session not found"}}',
            errors.NotFoundError,
            "get dataset city: HTTP 404: upload session not found",
        ),
        (
            418,
            "short and stout",
            errors.RemoteError,
            "get dataset city: HTTP 418: short and stout",
        ),
    ],
)
def test_error_mapping(status: int, body: str, cls: type[errors.RemoteError], message: str) -> None:
    with pytest.raises(errors.RemoteError) as info:
        raise_for_api(answer(status, body), what="get dataset city", token_env="TENSORBAY_ACCESS_KEY")
    assert type(info.value) is cls
    assert str(info.value) == message
    assert info.value.status == status


def test_auth_error_hint_names_the_token_variable() -> None:
    with pytest.raises(errors.AuthError) as info:
        raise_for_api(answer(401, '{"detail": "x"}'), what="list", token_env="DEEPEN_API_TOKEN")
    assert info.value.hint == "check the token in $DEEPEN_API_TOKEN and that it may access this resource"
    assert info.value.code is None


@pytest.mark.parametrize("status", [200, 201, 204])
def test_success_does_not_raise(status: int) -> None:
    raise_for_api(answer(status, "{}"), what="anything")


def test_custom_error_code_of() -> None:
    def odd(response: httpx.Response) -> tuple[str | None, str]:
        return "E42", "custom"

    with pytest.raises(errors.RemoteError, match=r"^x: HTTP 400 E42: custom$"):
        raise_for_api(answer(400, "{}"), what="x", error_code_of=odd)


def test_extract_error_of_tensorbay_body() -> None:
    assert extract_error(answer(404, '{"code": "ResourceNotExist", "message": "m"}')) == (
        "ResourceNotExist",
        "m",
    )


# --- redaction -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://bucket.s3.amazonaws.com/a/b.jpg?X-Amz-Algorithm=AWS4&X-Amz-Signature=abcdef0123",
            "https://bucket.s3.amazonaws.com/a/b.jpg?X-Amz-Algorithm=***&X-Amz-Signature=***",
        ),
        (
            "https://www.googleapis.com/upload/storage/v1/b/bk/o?uploadType=resumable&name=x.zip&upload_id=SECRETID",
            "https://www.googleapis.com/upload/storage/v1/b/bk/o?uploadType=***&name=***&upload_id=***",
        ),
        ("https://cdn.example/f.png?token=t0k3n#frag", "https://cdn.example/f.png?token=***"),
        ("https://h/p?signature=zzz&Expires=1", "https://h/p?signature=***&Expires=***"),
        ("https://user:pass@h/v1/data?offset=0&limit=128", "https://h/v1/data?offset=0&limit=128"),
        ("https://h/v1/datasets", "https://h/v1/datasets"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_removes_registered_secrets_and_signed_queries() -> None:
    make_client("https://h/", headers={"Authorization": "Bearer sekrit-token-value"}).close()
    text = "failed sekrit-token-value at https://s3/x?X-Amz-Signature=abc now"
    assert redact(text) == "failed *** at https://s3/x?X-Amz-Signature=*** now"


def test_token_echoed_by_server_never_reaches_the_message() -> None:
    body = json.dumps({"code": "Unauthorized", "message": f"bad key {TOKEN} for https://u/x?signature=abc"})
    with pytest.raises(errors.AuthError) as info:
        raise_for_api(answer(401, body), what="list datasets")
    assert TOKEN not in str(info.value)
    assert "abc" not in str(info.value)
    assert (
        str(info.value) == "list datasets: HTTP 401 Unauthorized: bad key *** for https://u/x?signature=***"
    )


def test_token_not_in_transport_error_message() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused while sending {request.headers['x-token']}", request=request)

    secret = "Accesskey-fedcba9876543210fedcba9876543210"
    client = make_client(
        "https://api.example/",
        headers={"X-Token": secret},
        transport=httpx.MockTransport(refuse),
        max_retries=0,
    )
    with pytest.raises(errors.TransientError) as info, translate_transport_errors(), client:
        client.get("https://api.example/upload?upload_id=abc")
    assert secret not in str(info.value)
    assert str(info.value) == "cannot reach api.example: refused while sending ***"


def test_status_error_from_raise_for_status_is_mapped() -> None:
    expected = r"^get x: HTTP 404: Not found\.$"
    with pytest.raises(errors.NotFoundError, match=expected), translate_transport_errors("get x"):
        answer(404, '{"detail": "Not found."}').raise_for_status()


def test_labelsync_errors_pass_through_translation() -> None:
    with pytest.raises(errors.ConflictError, match="taken"), translate_transport_errors("x"):
        raise errors.ConflictError("taken")


# --- real loopback ------------------------------------------------------------------------------


def dropping_app(failures: int, calls: list[str]) -> Callable[..., Any]:
    """An ASGI app whose first ``failures`` answers start a response and then drop the connection."""

    async def app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        assert scope["type"] == "http"
        while True:
            message = await receive()
            if not message.get("more_body"):
                break
        calls.append(scope["method"])
        if len(calls) <= failures:
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]}
            )
            await send({"type": "http.response.body", "body": b"{", "more_body": True})
            raise ConnectionAbortedError("test: dropped connection")
        body = b'{"ok": true}'
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def test_dropped_connection_over_loopback_is_retried() -> None:
    calls: list[str] = []
    sleeps: list[float] = []
    with (
        EmbeddedServer(dropping_app(2, calls)) as server,
        make_client(server.url, headers={"X-Token": TOKEN}, sleep=sleeps.append, timeout=10) as client,
    ):
        response = client.put("/v1/thing", json={"a": 1})
        assert response.json() == {"ok": True}
        assert (client_stats(client).requests, client_stats(client).retries) == (3, 2)
    assert calls == ["PUT", "PUT", "PUT"]
    assert len(sleeps) == 2


def test_dropped_connection_over_loopback_exhausts_budget() -> None:
    calls: list[str] = []
    with EmbeddedServer(dropping_app(10, calls)) as server:
        client = make_client(server.url, headers={}, sleep=lambda s: None, max_retries=1, timeout=10)
        with pytest.raises(errors.TransientError) as info, translate_transport_errors("put thing"), client:
            client.put("/v1/thing", content=b"x")
    assert calls == ["PUT", "PUT"]
    assert str(info.value).startswith(f"put thing: cannot reach 127.0.0.1:{server.port}: ")


def test_streamed_response_marked_stream_is_not_buffered_nor_retried() -> None:
    calls: list[str] = []
    with (
        EmbeddedServer(dropping_app(1, calls)) as server,
        make_client(server.url, headers={}, sleep=lambda s: None, timeout=10) as client,
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("GET", "/big", extensions={STREAM: True}) as response,
    ):
        response.read()
    assert calls == ["GET"]


def test_injected_faults_over_loopback_are_all_absorbed() -> None:
    calls: list[str] = []
    knobs = Knobs(dropping_app(0, calls), FaultConfig(fail_rate=0.5, seed=7))
    with (
        EmbeddedServer(knobs) as server,
        make_client(server.url, headers={}, sleep=lambda s: None, max_retries=20, timeout=10) as client,
    ):
        for i in range(20):
            assert client.put(f"/v1/item/{i}", content=b"x").json() == {"ok": True}
        stats = client_stats(client)
    assert len(calls) == 20
    assert knobs.injected > 0
    assert stats.retries == knobs.injected
    assert stats.requests == 20 + knobs.injected
