"""http1.parse_response: an answer read from the bytes received so far, whole or not yet."""

from __future__ import annotations

import pytest

from labelsync.providers import http1


def every_prefix(data: bytes, eof: bool = False) -> http1.Response | None:
    """The parse of ``data``; every shorter prefix must be 'not yet' (None)."""
    for cut in range(len(data)):
        assert http1.parse_response(data[:cut], False) is None, cut
    return http1.parse_response(bytearray(data), eof)


def test_a_content_length_answer_and_what_follows_it() -> None:
    answer = b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello"
    got = every_prefix(answer)
    assert got == (len(answer), "HTTP/1.1", 201, [("content-length", "5"), ("x-a", "b")], b"hello", True)
    assert http1.parse_response(answer + b"HTTP/1.1 204", False) == got  # the next answer's bytes are left


def test_a_chunked_answer_with_trailers_after_a_100_continue() -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n"
    got = every_prefix(answer)
    assert got is not None and got[0] == len(answer) and got[2] == 200 and got[4] == b"abcde" and got[5] is True


def test_bodiless_and_close_delimited_answers() -> None:
    assert every_prefix(b"HTTP/1.1 204 No Content\r\n\r\n") == (27, "HTTP/1.1", 204, [], b"", True)
    undelimited = b"HTTP/1.0 200 OK\r\n\r\nall of it"
    assert http1.parse_response(undelimited, False) is None  # more may come until the server closes
    assert http1.parse_response(undelimited, True) == (len(undelimited), "HTTP/1.0", 200, [], b"all of it", False)


def test_a_connect_answer_is_its_head() -> None:
    assert http1.parse_response(b"HTTP/1.1 200 Connection established\r\n\r\n", False, head_only=True) == (39, "HTTP/1.1", 200, [], b"", True)


def test_past_the_cap_or_malformed() -> None:
    with pytest.raises(http1.TooLarge):  # by the declared length, before any body byte came
        http1.parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n", False, cap=1000)
    with pytest.raises(http1.TooLarge):
        http1.parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n", False, cap=1000)
    with pytest.raises(http1.TooLarge):
        http1.parse_response(b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 1001, False, cap=1000)
    with pytest.raises(ValueError, match="longer than 64 KiB"):
        http1.parse_response(b"HTTP/1.1 200 OK\r\nX: " + b"y" * (65 * 1024), False)
    with pytest.raises(ValueError, match="not an HTTP/1.x status line"):
        http1.parse_response(b"SSH-2.0-OpenSSH\r\n\r\n", False)
