"""A loopback HTTP/1.1 server that misbehaves on purpose (tests and benchmarks only).

Every request is read whole (head, then ``Content-Length`` bytes), then answered the way
``mode`` says:

* ``huge``: a 200 JSON answer of ``size`` bytes, declared with ``Content-Length``;
* ``huge_undeclared``: the same without a length, ended by closing the connection;
* ``huge_chunked``: the same in 1 MiB chunks (``Transfer-Encoding: chunked``);
* ``drip``: a complete JSON head, then the body one byte every ``interval`` seconds;
* ``drip_head``: the status line and headers themselves one byte every ``interval`` seconds.

The server stops writing as soon as the client goes away, so a client that gives up early
costs neither side more than what was sent. ``requests`` counts the requests answered.
"""

from __future__ import annotations

import socket
import threading
import time

CHUNK = 1 << 20


class HostileServer:
    def __init__(self, mode: str, *, size: int = 256 << 20, interval: float = 0.25) -> None:
        self.mode, self.size, self.interval = mode, size, interval
        self.requests = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                while not self._stop.is_set():
                    if not self._read_request(conn):
                        return
                    self.requests += 1
                    self._answer(conn)
                    if self.mode != "huge":
                        return
            except OSError:
                return

    @staticmethod
    def _read_request(conn: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            more = conn.recv(65536)
            if not more:
                return False
            data += more
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            more = conn.recv(min(65536, length - len(body)))
            if not more:
                return False
            body += more
        return True

    def _body(self) -> bytes:
        """``{"x": "aaaa...`` : the start of a JSON object that never gets smaller."""
        return b'{"x": "' + b"a" * (CHUNK - 7)

    def _answer(self, conn: socket.socket) -> None:
        if self.mode in ("drip", "drip_head"):
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            if self.mode == "drip":
                conn.sendall(head)
                head = b'{"x": "' + b"a" * 993
            for byte in head:
                if self._stop.wait(self.interval):
                    return
                conn.sendall(bytes([byte]))
            return
        chunked = self.mode == "huge_chunked"
        lines = [b"HTTP/1.1 200 OK", b"Content-Type: application/json"]
        if self.mode == "huge":
            lines.append(b"Content-Length: %d" % self.size)
        elif chunked:
            lines.append(b"Transfer-Encoding: chunked")
        else:
            lines.append(b"Connection: close")
        conn.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        block = self._body()
        sent = 0
        while sent < self.size and not self._stop.is_set():
            part = block[: min(len(block), self.size - sent)]
            conn.sendall(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
            sent += len(part)
            block = b"a" * CHUNK
        if chunked:
            conn.sendall(b"0\r\n\r\n")


def wait_until(predicate: object, timeout: float = 5.0) -> None:  # pragma: no cover - helper
    end = time.monotonic() + timeout
    while time.monotonic() < end and not predicate():  # type: ignore[operator]
        time.sleep(0.01)
