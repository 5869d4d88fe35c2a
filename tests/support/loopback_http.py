"""A loopback HTTP/1.1 server for upload-engine tests: one thread per connection, requests
read by their ``Content-Length``; a subclass answers each one in :meth:`LoopbackServer.answer`."""

from __future__ import annotations

import socket
import threading
from typing import BinaryIO


class LoopbackServer:
    """Counts ``connections`` and ``requests``; serves at :attr:`url` until :meth:`close`."""

    def __init__(self) -> None:
        self.requests = 0
        self.connections = 0
        self._lock = threading.Lock()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/upload"
        threading.Thread(target=self._accept, daemon=True).start()

    def answer(self, conn: socket.socket, reader: BinaryIO, length: int) -> bool:
        """Handle one request whose head was read (its body of ``length`` bytes not yet);
        False stops serving this connection."""
        raise NotImplementedError

    def next_request(self) -> int:
        """The number of this request (0 for the first), counted once per request."""
        with self._lock:
            n = self.requests
            self.requests += 1
        return n

    def close(self) -> None:
        self.sock.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        with conn, reader:
            while True:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = reader.readline()
                    if not line:
                        return
                    head += line
                length = next(int(v) for k, _, v in (h.partition(b":") for h in head.split(b"\r\n")) if k.lower() == b"content-length")
                if not self.answer(conn, reader, length):
                    return
