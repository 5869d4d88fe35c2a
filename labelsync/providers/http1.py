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

No sockets here: bodies are read from whatever ``asyncio.StreamReader`` the caller has.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from urllib.parse import unquote

from labelsync.providers import limits

__all__ = ["TooLarge", "connect_head", "header", "parse_head", "proxy_authorization", "read_body", "request_head"]

Headers = list[tuple[str, str]]


class TooLarge(Exception):
    """An answer body larger than the cap given to :func:`read_body`."""


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


def parse_head(block: bytes) -> tuple[str, int, Headers]:
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


async def read_body(
    reader: asyncio.StreamReader, status: int, headers: Headers, cap: int = limits.MAX_UPLOAD_ANSWER_BYTES
) -> tuple[bytes, bool]:
    """The body of a response, and whether the connection may carry another request.

    Raises :class:`TooLarge` as soon as the body is known to exceed ``cap`` bytes.
    """
    if status in (204, 304):
        return b"", True
    if "chunked" in header(headers, "transfer-encoding").lower():
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return b"".join(chunks), True
            total += size
            if total > cap:
                raise TooLarge
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = header(headers, "content-length")
    if length:
        if int(length) > cap:
            raise TooLarge
        return await reader.readexactly(int(length)), True
    body = await reader.read(cap + 1)  # delimited by the server closing the connection
    while len(body) <= cap:
        more = await reader.read(cap + 1 - len(body))
        if not more:
            return body, False
        body += more
    raise TooLarge
