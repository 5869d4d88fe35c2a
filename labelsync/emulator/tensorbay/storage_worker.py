"""One storage worker process of :class:`~.storage_host.StorageHost` (see its module).

``python -m labelsync.emulator.tensorbay.storage_worker --fd F --alive-fd A --stats-fd S
--slot I --data-dir D [--faults JSON] [--certfile C --keyfile K]``: serves ``/storage/upload``
of ``D`` on the inherited listening socket ``F`` until SIGTERM or until the pipe ``A`` from
the parent reaches EOF, and writes its figures to slot ``I`` of the shared file ``S`` after
every request. Not meant to be run by hand.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from labelsync.emulator.runtime import ASGIApp, FaultConfig, Knobs, Message, Receive, Scope, Send
from labelsync.emulator.tensorbay import storage
from labelsync.emulator.tensorbay.blobs import BlobStore
from labelsync.emulator.tensorbay.errors import injected_error_body
from labelsync.emulator.tensorbay.signing import Signer, load_secret
from labelsync.emulator.tensorbay.storage import UPLOAD_PATH
from labelsync.emulator.tensorbay.storage_host import SLOT


class _Counted:
    """The worker's app: uploads only (404 JSON elsewhere), its figures written to its slot."""

    def __init__(self, app: ASGIApp, stats: mmap.mmap, slot: int) -> None:
        self.app = app
        self.stats = stats
        self.offset = slot * SLOT.size
        SLOT.pack_into(stats, self.offset, 0, time.process_time() or 1e-9, 0.0, 0.0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        # read back each time: the parent's reset() zeroes the counts in the shared file
        uploads, _, first, last = SLOT.unpack_from(self.stats, self.offset)
        if not first:
            SLOT.pack_into(self.stats, self.offset, uploads, time.process_time(), time.time(), last)
        upload = scope["path"] == UPLOAD_PATH

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":  # counted before the client can see the answer
                uploads, _, first, _ = SLOT.unpack_from(self.stats, self.offset)
                SLOT.pack_into(self.stats, self.offset, uploads + upload, time.process_time(), first, time.time())
            await send(message)

        await self.app(scope, receive, counted)


def worker_app(data_dir: Path, faults: FaultConfig) -> ASGIApp:
    """The ASGI app of one worker: ``/storage/upload`` of ``data_dir`` behind the fault knobs."""
    signer = Signer(load_secret(data_dir))
    blobs = BlobStore(data_dir / "blobs")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == UPLOAD_PATH:
            await storage.upload_app(scope, receive, send, signer, blobs)
            return
        body = json.dumps({"code": "ResourceNotExist", "message": f"no such endpoint on the storage host: {scope['path']}"}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 404, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    config = replace(faults)
    config.error_body = injected_error_body
    return Knobs(app, config)


def _watch_parent(alive_fd: int) -> None:
    """End this worker when the parent's end of the pipe closes (the parent died or stopped)."""
    while os.read(alive_fd, 1):
        pass
    os._exit(0)


def main(argv: Sequence[str] | None = None) -> None:
    """One storage worker (see the module docstring); started by :class:`StorageHost`."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="labelsync.emulator.tensorbay.storage_worker")
    for name in ("--fd", "--alive-fd", "--stats-fd", "--slot"):
        parser.add_argument(name, type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--faults", default="{}")
    parser.add_argument("--certfile")
    parser.add_argument("--keyfile")
    args = parser.parse_args(argv)
    threading.Thread(target=_watch_parent, args=(args.alive_fd,), daemon=True).start()
    sock = socket.socket(fileno=args.fd)
    stats = mmap.mmap(args.stats_fd, 0)
    app = worker_app(args.data_dir, FaultConfig(**json.loads(args.faults)))
    config = uvicorn.Config(
        _Counted(app, stats, args.slot),
        log_level="warning",
        access_log=False,
        lifespan="off",
        ssl_certfile=args.certfile,
        ssl_keyfile=args.keyfile,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=2,
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
