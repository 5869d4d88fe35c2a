"""A small forward HTTP proxy run as its own process on loopback (tests of HTTP(S)_PROXY).

* ``CONNECT host:port`` opens a tunnel and pipes bytes both ways (https through the proxy);
* an absolute-form request (``POST http://host:port/path``) is forwarded: read whole, sent
  upstream with ``http.client``, its answer read whole and sent back with a
  ``Content-Length`` (keep-alive on both sides);
* ``--auth user:pass`` requires ``Proxy-Authorization: Basic`` (407 otherwise).

Every request it handles is appended to ``--log`` as one line, ``CONNECT host:port`` or
``METHOD absolute-url``, so a test can prove its traffic went through the proxy.

``running_proxy(tmp_path)`` starts it (``python -m tests.support.http_proxy``) and yields
``(url, log path)``.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

HOP = {"connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}


class Handler(socketserver.StreamRequestHandler):
    auth: str | None = None
    log_path: Path

    def log_line(self, line: str) -> None:
        with self.log_path.open("a") as out:
            out.write(line + "\n")

    def handle(self) -> None:
        upstreams: dict[tuple[str, int], http.client.HTTPConnection] = {}
        while True:
            line = self.rfile.readline(65537)
            if not line.strip():
                return
            method, target, _ = line.decode("latin-1").split(" ", 2)
            headers: list[tuple[str, str]] = []
            while (h := self.rfile.readline(65537)) not in (b"\r\n", b"\n", b""):
                name, _, value = h.decode("latin-1").partition(":")
                headers.append((name.strip(), value.strip()))
            given = next((v for k, v in headers if k.lower() == "proxy-authorization"), None)
            self.log_line(f"{method} {target}")
            if self.auth is not None and given != "Basic " + base64.b64encode(self.auth.encode()).decode():
                self.wfile.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n")
                self.wfile.flush()
                continue
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                self.tunnel(host.strip("[]"), int(port))
                return
            self.forward(method, target, headers, upstreams)

    def tunnel(self, host: str, port: int) -> None:
        try:
            upstream = socket.create_connection((host, port), timeout=30)
        except OSError:
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()

        def pipe(src: socket.socket, dst: socket.socket) -> None:
            try:
                while chunk := src.recv(65536):
                    dst.sendall(chunk)
            except OSError:
                pass
            finally:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

        back = threading.Thread(target=pipe, args=(upstream, self.connection), daemon=True)
        back.start()
        pipe(self.connection, upstream)  # the client waits for the 200: nothing is buffered in rfile
        back.join(timeout=30)
        upstream.close()

    def forward(self, method: str, target: str, headers: list[tuple[str, str]], upstreams: dict) -> None:
        url = urlsplit(target)
        length = int(next((v for k, v in headers if k.lower() == "content-length"), "0"))
        body = self.rfile.read(length) if length else b""
        key = (url.hostname or "", url.port or 80)
        conn = upstreams.get(key) or http.client.HTTPConnection(*key, timeout=60)
        upstreams[key] = conn
        path = url.path + (f"?{url.query}" if url.query else "")
        conn.putrequest(method, path or "/", skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            if name.lower() not in HOP and name.lower() != "content-length":
                conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        answer = conn.getresponse()
        content = answer.read()
        out = [f"HTTP/1.1 {answer.status} {answer.reason}"]
        out += [f"{k}: {v}" for k, v in answer.getheaders() if k.lower() not in HOP and k.lower() != "content-length"]
        out.append(f"Content-Length: {len(content)}")
        self.wfile.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + content)
        self.wfile.flush()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--auth")
    args = parser.parse_args()
    Handler.auth = args.auth
    Handler.log_path = Path(args.log)
    with Server(("127.0.0.1", 0), Handler) as server:
        print(server.server_address[1], flush=True)
        server.serve_forever()


@contextmanager
def running_proxy(tmp_path: Path, *, auth: str | None = None) -> Iterator[tuple[str, Path]]:
    """Start the proxy process; yields ``(proxy url without credentials, log path)``."""
    log = tmp_path / "proxy.log"
    log.touch()
    cmd = [sys.executable, "-m", "tests.support.http_proxy", "--log", str(log), *(["--auth", auth] if auth else [])]
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}", log
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
