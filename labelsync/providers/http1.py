"""HTTP/1.1 wire format for the upload transport: request heads, response heads, body framing.

Just what a storage host and a forward proxy need (RFC 9112):

* a ``POST`` head with ``Content-Length`` (the body is in memory), in origin form
  (``POST /path``) or, to a forward proxy, absolute form (``POST http://host/path``);
* a ``CONNECT host:port`` head for a tunnel through a proxy;
* a response head (status line, headers: names lower-case);
* a response body delimited by ``Content-Length``, ``chunked`` (trailers skipped) or the
  connection closing, with ``204``/``304`` bodiless, and at most a cap of bytes
  (:data:`~labelsync.providers.limits.MAX_UPLOAD_ANSWER_BYTES` by default): past it,
  :class:`TooLarge` is raised by the declared ``Content-Length`` before anything is read,
  or as soon as the bytes read pass the cap.

No sockets here: :func:`parse_response` reads an answer from the bytes a connection has
received so far (:mod:`~labelsync.providers.http1conn` owns the socket).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from urllib.parse import unquote

from labelsync.providers import limits

__all__ = [
    "MAX_HEAD", "Response", "TooLarge", "connect_head", "header", "parse_head", "parse_response", "proxy_authorization",
    "request_head",
]

Headers = list[tuple[str, str]]
Response = tuple[int, str, int, Headers, bytes, bool]
"""``(consumed, version, status, headers, content, reusable)`` of :func:`parse_response`."""
MAX_HEAD = 64 * 1024
"""The longest response head (and chunk-size line) accepted."""


class TooLarge(Exception):
    """An answer body larger than the cap given to :func:`parse_response`."""


def request_head(target: str, host: str, headers: Mapping[str, str], length: int, user_agent: str) -> bytes:
    """The head of ``POST target`` (origin or absolute form) with a ``length``-byte body."""
    lines = [f"POST {target} HTTP/1.1", f"Host: {host}", f"User-Agent: {user_agent}", "Accept-Encoding: identity"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def connect_head(authority: str, headers: Mapping[str, str]) -> bytes:
    """The head of ``CONNECT authority`` (``host:port``) to a proxy."""
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def proxy_authorization(username: str | None, password: str | None) -> dict[str, str]:
    """``Proxy-Authorization: Basic ...`` for a proxy URL's user info (none without a user)."""
    if not username:
        return {}
    pair = f"{unquote(username)}:{unquote(password or '')}".encode()
    return {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


def parse_head(block: bytes | bytearray) -> tuple[str, int, Headers]:
    """``(version, status, headers)`` of a response head; ValueError if malformed."""
    lines = block.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    if not version.startswith("HTTP/1."):
        raise ValueError(f"not an HTTP/1.x status line: {lines[0][:60]!r}")
    status = int(rest[:3])
    headers = []
    for line in lines[1:]:
        if line:
            name, sep, value = line.partition(":")
            if not sep:
                raise ValueError(f"malformed header line: {line[:60]!r}")
            headers.append((name.strip().lower(), value.strip()))
    return version, status, headers


def header(headers: Headers, name: str) -> str:
    """The first value of header ``name`` (lower-case), or ``""``."""
    return next((value for key, value in headers if key == name), "")


def parse_response(
    buf: bytes | bytearray, eof: bool, cap: int = limits.MAX_UPLOAD_ANSWER_BYTES, *, head_only: bool = False
) -> Response | None:
    """The first final (non-1xx) response at the start of ``buf``, or None while it is incomplete.

    ``consumed`` is how many bytes of ``buf`` it took; ``reusable`` whether the connection may
    carry another request. ``eof``: the server closed its side (which delimits a body without
    length or chunking). ``head_only``: the answer to a ``CONNECT`` (no body is read). Raises
    ValueError for a malformed answer (a head past :data:`MAX_HEAD` included) and
    :class:`TooLarge` as soon as the body is known to exceed ``cap`` bytes (by its declared
    ``Content-Length`` before it is received). An incomplete answer at ``eof`` is the
    caller's to report (None is returned).
    """
    start = 0
    while True:
        end = buf.find(b"\r\n\r\n", start)
        if end < 0 or end - start > MAX_HEAD:
            if len(buf) - start > MAX_HEAD:
                raise ValueError(f"an answer head longer than {MAX_HEAD // 1024} KiB")
            return None
        version, status, headers = parse_head(buf[start : end + 4])
        start = end + 4
        if not 100 <= status < 200:
            break
    if head_only or status in (204, 304):
        return start, version, status, headers, b"", True
    length = coding = ""
    for name, value in headers:  # one pass for both (the first value of each, as header())
        if name == "content-length":
            length = length or value
        elif name == "transfer-encoding":
            coding = coding or value
    if "chunked" in coding.lower():
        return _chunked(buf, start, version, status, headers, cap)
    if length:
        size = int(length)
        if size > cap:
            raise TooLarge
        if len(buf) - start < size:
            return None
        return start + size, version, status, headers, bytes(buf[start : start + size]), True
    if len(buf) - start > cap:
        raise TooLarge
    return (len(buf), version, status, headers, bytes(buf[start:]), False) if eof else None


def _chunked(buf: bytes | bytearray, pos: int, version: str, status: int, headers: Headers, cap: int) -> Response | None:
    chunks: list[bytes] = []
    total = 0
    while True:
        end = buf.find(b"\r\n", pos)
        if end < 0:
            if len(buf) - pos > MAX_HEAD:
                raise ValueError("a chunk-size line longer than 64 KiB")
            return None
        size = int(bytes(buf[pos:end]).split(b";", 1)[0].strip() or b"0", 16)
        pos = end + 2
        if size == 0:
            while True:  # trailers, up to the empty line
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    return None
                line, pos = end - pos, end + 2
                if line == 0:
                    return pos, version, status, headers, b"".join(chunks), True
        total += size
        if total > cap:
            raise TooLarge
        if len(buf) < pos + size + 2:
            return None
        chunks.append(bytes(buf[pos : pos + size]))
        pos += size + 2
