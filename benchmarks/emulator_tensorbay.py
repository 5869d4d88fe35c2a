"""How fast the TensorBay emulator serves uploads and callbacks (it must never be the bottleneck).

Starts ``labelsync emulator tensorbay`` in a subprocess (``--embedded`` runs it in this
process instead), then measures over loopback with httpx:

* uploads/s: ``--files`` files of ``--size`` bytes, form-POSTed by ``--clients`` concurrent
  clients (the SDK's multipart shape);
* callback objects/s: ``--objects`` objects registered with ``multi/callback`` in batches
  of ``--batch``;
* draft snapshot: seconds to open a draft on a head holding those objects;
* ``data/details`` items/s: reading everything back in pages of 128.

Usage: ``python benchmarks/emulator_tensorbay.py [--files 2000] [--clients 16] [--objects 50000]``
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from labelsync.emulator.runtime import EmbeddedServer, free_port
from labelsync.emulator.tensorbay import API_PREFIX, create_app

TOKEN = "Accesskey-benchmark"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (Linux ``/proc``); 0.0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serve(data_dir: Path, embedded: bool) -> Iterator[tuple[str, int]]:
    """The emulator's base URL and server process ID, served in-process or by a subprocess."""
    if embedded:
        with EmbeddedServer(create_app(data_dir, tokens=[TOKEN])) as server:
            yield server.url, os.getpid()
        return
    port = free_port()
    command = [sys.executable, "-m", "labelsync", "emulator", "tensorbay", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--data-dir", str(data_dir), "--token", TOKEN], stdout=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}{API_PREFIX}/users", headers={"X-Token": TOKEN})
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def capacity(what: str, count: int, cpu: float, embedded: bool) -> str:
    """The server's CPU cost per unit, and the rate one uncontended core would sustain."""
    if embedded or cpu <= 0:
        return f"  (server CPU per {what}: not measured in --embedded mode)"
    return f"  server CPU: {cpu * 1000 / count:.3f} ms per {what} -> {count / cpu:,.0f} {what}s/s per core of server CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--size", type=int, default=64 * 1024)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--objects", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--embedded", action="store_true", help="run the server in this process")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp), args.embedded) as (url, pid):
        api = httpx.Client(base_url=f"{url}{API_PREFIX}/", headers={"X-Token": TOKEN}, timeout=120)
        ds = api.post("datasets", json={"name": "bench", "type": 0}).json()["id"]
        api.post(f"datasets/{ds}/drafts", json={"branchName": "main", "title": "bench"})
        api.post(f"datasets/{ds}/segments", json={"name": "seg", "draftNumber": 1})
        policy = api.get(
            f"datasets/{ds}/policies", params={"expired": 300, "segmentName": "seg", "draftNumber": 1}
        ).json()
        fields = {k: v for k, v in policy["result"].items() if k != "multipleUploadLimit" and v is not None}
        payloads = [os.urandom(args.size) for _ in range(args.files)]
        checksums = [hashlib.sha1(p).hexdigest() for p in payloads]

        # Bodies are encoded up front (the SDK's multipart shape: fields, key, empty
        # Content-Type, then the file with an empty filename) so the clients spend their
        # CPU on sending, and the figure measures the server.
        bodies = []
        for i in range(args.files):
            form = {**fields, "key": policy["extra"]["objectPrefix"] + checksums[i], "Content-Type": ""}
            request = httpx.Request(
                "POST", policy["extra"]["host"], data=form, files={"file": ("", payloads[i])}
            )
            bodies.append((request.read(), request.headers["content-type"]))

        def uploader(index: int) -> None:
            with httpx.Client(timeout=120) as client:
                for i in range(index, args.files, args.clients):
                    body, content_type = bodies[i]
                    response = client.post(
                        policy["extra"]["host"], content=body, headers={"content-type": content_type}
                    )
                    response.raise_for_status()

        cpu = cpu_seconds(pid)
        start = time.perf_counter()
        threads = [threading.Thread(target=uploader, args=(i,)) for i in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        upload_s = time.perf_counter() - start
        upload_cpu = cpu_seconds(pid) - cpu
        print(
            f"uploads: {args.files} x {args.size // 1024} KiB, {args.clients} clients: {upload_s:.2f} s = {args.files / upload_s:,.0f} uploads/s ({args.files * args.size / upload_s / 2**20:,.0f} MiB/s)"
        )
        print(capacity("upload", args.files, upload_cpu, args.embedded))

        objects = [
            {
                "checksum": checksums[i % args.files],
                "fileSize": args.size,
                "remotePath": f"dir/{i:08d}.jpg",
                "label": {
                    "BOX2D": [{"box2d": {"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4}, "category": "car"}]
                },
            }
            for i in range(args.objects)
        ]
        cpu = cpu_seconds(pid)
        start = time.perf_counter()
        for i in range(0, args.objects, args.batch):
            body = {"segmentName": "seg", "draftNumber": 1, "objects": objects[i : i + args.batch]}
            api.put(f"datasets/{ds}/multi/callback", json=body).raise_for_status()
        callback_s = time.perf_counter() - start
        callback_cpu = cpu_seconds(pid) - cpu
        print(
            f"callbacks: {args.objects:,} objects in batches of {args.batch}: {callback_s:.2f} s = {args.objects / callback_s:,.0f} objects/s"
        )
        print(capacity("callback object", args.objects, callback_cpu, args.embedded))

        api.post(f"datasets/{ds}/commits", json={"title": "bench", "draftNumber": 1}).raise_for_status()
        start = time.perf_counter()
        api.post(f"datasets/{ds}/drafts", json={"branchName": "main", "title": "snapshot"}).raise_for_status()
        print(f"draft snapshot of {args.objects:,} items: {time.perf_counter() - start:.2f} s")

        start = time.perf_counter()
        read = 0
        while read < args.objects:
            page = api.get(
                f"datasets/{ds}/data/details",
                params={"segmentName": "seg", "draftNumber": 2, "offset": read, "limit": 128},
            )
            read += len(page.json()["dataDetails"])
        details_s = time.perf_counter() - start
        print(
            f"data/details: {read:,} items in pages of 128 (one client): {details_s:.2f} s = {read / details_s:,.0f} items/s"
        )


if __name__ == "__main__":
    main()
