"""The upload route served by N processes of their own: a storage host like OSS/S3, in parallel.

By default the emulator serves ``/storage/upload`` on its one event loop, so the uploads of
a wave are answered one after the other; a real object store answers them in parallel.
:class:`StorageHost` (``labelsync emulator tensorbay --storage-workers N``) starts N worker
processes that serve the same route on a port of their own: N listening sockets bound with
``SO_REUSEPORT`` to one port, one per worker, so the kernel spreads the connections over
them. Pass its ``port`` to ``create_app(storage_port=...)`` and the policies' ``extra.host``
names it (api/tensorbay.md §6.2); everything else (API, downloads) stays on the emulator.

Contract:

* the workers verify policies with the data directory's persisted signing secret
  (``signing.key``, :func:`~.signing.load_secret`) and the real clock, and store blobs in
  the data directory's :class:`~.blobs.BlobStore` (each process its own pack; the emulator
  finds them on a miss), so what a worker stored is found by ``multi/callback`` and readable
  through the download URLs;
* the workers apply the same :class:`~labelsync.emulator.runtime.FaultConfig` latency and
  fault injection as the emulator (a per-source bandwidth cap is refused: it cannot be
  shared between processes);
* :meth:`StorageHost.stop` ends them (SIGTERM, then SIGKILL); a worker whose parent dies
  ends too (it watches a pipe from the parent);
* :meth:`StorageHost.stats` gives each worker's uploads, CPU seconds and the times of its
  first and last request (from a small shared file the workers update at every request),
  zeroed by :meth:`StorageHost.reset`; for tests and benchmarks.

A worker is :mod:`.storage_worker`, started with the inherited descriptors named on its
command line.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from labelsync.emulator.runtime import FaultConfig
from labelsync.emulator.tensorbay.signing import load_secret

SLOT = struct.Struct("<dddd")
"""One worker's figures in the shared stats file: uploads, CPU seconds, first and last request time."""
WORKER = "labelsync.emulator.tensorbay.storage_worker"


class StorageHost:
    """``workers`` processes serving ``/storage/upload`` of ``data_dir`` on one port (see module)."""

    def __init__(
        self,
        data_dir: Path,
        workers: int,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultConfig | None = None,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("the storage host needs at least one worker")
        self.faults = replace(faults) if faults is not None else FaultConfig()
        if self.faults.client_bandwidth > 0:
            raise ValueError("a per-source bandwidth cap cannot be shared by several storage worker processes")
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        load_secret(self.data_dir)  # created once here, before the workers and the emulator read it
        self.workers = workers
        self.host = host
        self._tls = (ssl_certfile, ssl_keyfile)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sockets: list[socket.socket] = []
        for _ in range(workers):
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            sock.listen(1024)  # connections wait in the backlog until the worker's loop runs
            port = int(sock.getsockname()[1])
            self._sockets.append(sock)
        self.port = port
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.url = f"{'https' if ssl_certfile else 'http'}://{netloc}"
        fd, self._stats_path = tempfile.mkstemp(prefix="labelsync-storage-", suffix=".stats")
        os.ftruncate(fd, SLOT.size * workers)
        self._stats_fd = fd
        self._processes: list[subprocess.Popen[bytes]] = []
        self._alive_w: int | None = None

    def start(self) -> StorageHost:
        """Start the workers; returns once each one accepts connections."""
        try:
            self._spawn()
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self) -> None:
        alive_r, self._alive_w = os.pipe()
        try:
            for index, sock in enumerate(self._sockets):
                command = [sys.executable, "-m", WORKER, "--fd", str(sock.fileno()), "--alive-fd", str(alive_r)]
                command += ["--stats-fd", str(self._stats_fd), "--slot", str(index), "--data-dir", str(self.data_dir)]
                command += ["--faults", json.dumps(_faults_json(self.faults))]
                if self._tls[0]:
                    command += ["--certfile", str(self._tls[0]), "--keyfile", str(self._tls[1])]
                fds = (sock.fileno(), alive_r, self._stats_fd)
                self._processes.append(subprocess.Popen(command, pass_fds=fds, stdin=subprocess.DEVNULL))
        finally:
            os.close(alive_r)
        for sock in self._sockets:
            sock.close()  # the workers hold them now

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        ready: set[int] = set()
        while len(ready) < self.workers:
            for process in self._processes:
                if process.poll() is not None:
                    raise RuntimeError(f"a storage worker exited at start-up (code {process.returncode})")
            ready = {i for i, slot in enumerate(self.stats()) if slot["ready"]}
            if time.monotonic() > deadline:
                raise RuntimeError("the storage workers did not start")
            time.sleep(0.02)

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids."""
        return [p.pid for p in self._processes]

    def stats(self) -> list[dict[str, Any]]:
        """Per worker: ``uploads`` answered, ``cpu_s`` (its CPU seconds so far), ``first`` and
        ``last`` (epoch seconds of its first and last request, 0 before any), ``ready``."""
        raw = os.pread(self._stats_fd, SLOT.size * self.workers, 0)
        rows = []
        for uploads, cpu, first, last in SLOT.iter_unpack(raw):
            rows.append({"uploads": int(uploads), "cpu_s": cpu, "first": first, "last": last, "ready": cpu > 0})
        return rows

    def reset(self) -> None:
        """Zero every worker's ``uploads``, ``first`` and ``last`` (CPU seconds keep counting)."""
        for index, row in enumerate(self.stats()):
            os.pwrite(self._stats_fd, SLOT.pack(0, row["cpu_s"], 0.0, 0.0), index * SLOT.size)

    def stop(self) -> None:
        """End every worker (SIGTERM, then SIGKILL after 5 s) and remove the stats file."""
        if self._alive_w is not None:
            os.close(self._alive_w)  # a worker that misses the signal ends on the pipe's EOF
            self._alive_w = None
        for process in self._processes:
            if process.poll() is None:
                process.terminate()
        for process in self._processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for sock in self._sockets:
            sock.close()
        if self._stats_fd >= 0:
            os.close(self._stats_fd)
            self._stats_fd = -1
            Path(self._stats_path).unlink(missing_ok=True)

    def __enter__(self) -> StorageHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _faults_json(faults: FaultConfig) -> dict[str, Any]:
    return {"latency_ms": faults.latency_ms, "fail_rate": faults.fail_rate, "seed": faults.seed}
