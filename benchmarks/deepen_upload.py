"""Upload throughput of labelsync's Deepen uploader (deterministic zip + resumable upload), in MB/s.

Generates ``--size-mb`` MB of deterministic pseudo-random bytes as ``--files`` PNG-named
files in a temporary directory (nothing is committed), zips them with
:func:`labelsync.providers.deepen.zipper.write_zip`, creates a dataset on the Deepen
emulator and uploads the zip through :class:`labelsync.providers.deepen.upload.ResumableUpload`
(the same code ``labelsync apply`` runs) in ``--chunk-mib`` chunks over loopback. The
emulator runs in a child process (its own interpreter, so client and server do not share a
GIL), unless ``--in-process``.

Prints the zip rate, the upload rate (MB = 10^6 bytes) and the requests made.

    .venv/bin/python benchmarks/deepen_upload.py [--size-mb 200] [--files 50] [--chunk-mib 8] [--in-process]
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from labelsync.providers.deepen.client import DeepenClient
from labelsync.providers.deepen.upload import ResumableUpload
from labelsync.providers.deepen.zipper import write_zip
from labelsync.providers.http import Stats

TOKEN = "bench-token-0123456789"
CLIENT = "bench"
PNG = b"\x89PNG\r\n\x1a\n"


def serve(data_dir: str, urls: Any, stop: Any) -> None:
    """Child process: run the emulator until ``stop`` is set; send its url through ``urls``."""
    from labelsync.emulator.deepen import create_app
    from labelsync.emulator.runtime import EmbeddedServer

    with EmbeddedServer(create_app(Path(data_dir), tokens=[TOKEN])) as server:
        urls.put(server.url)
        stop.wait()


def generate(data_dir: Path, size: int, files: int, seed: int = 7) -> list[tuple[str, str]]:
    """``files`` files of together ``size`` bytes of seeded random bytes; ``(arcname, path)`` pairs."""
    rng = random.Random(seed)
    data_dir.mkdir(parents=True)
    out = []
    each = size // files
    for i in range(files):
        path = data_dir / f"img_{i:04d}.png"
        path.write_bytes(PNG + rng.randbytes(each - len(PNG)))
        out.append((path.name, str(path)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, default=200)
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--chunk-mib", type=int, default=8)
    parser.add_argument("--in-process", action="store_true", help="serve the emulator on a thread of this process")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="labelsync-bench-") as tmp:
        base = Path(tmp)
        entries = generate(base / "data", int(args.size_mb * 1_000_000), args.files)
        t0 = time.perf_counter()
        zipped = write_zip(entries, base / "data.zip")
        zip_s = time.perf_counter() - t0

        stop: Any = None
        child = None
        server = None
        if args.in_process:
            from labelsync.emulator.deepen import create_app
            from labelsync.emulator.runtime import EmbeddedServer

            server = EmbeddedServer(create_app(base / "state", tokens=[TOKEN])).start()
            url = server.url
        else:
            ctx = multiprocessing.get_context("spawn")
            urls, stop = ctx.Queue(), ctx.Event()
            child = ctx.Process(target=serve, args=(str(base / "state"), urls, stop), daemon=True)
            child.start()
            url = urls.get(timeout=60)
        try:
            stats = Stats()
            client = DeepenClient(url, TOKEN, CLIENT, stats=stats)
            body = {"dataset_name": "bench", "dataset_type": "images",
                    "files": [{"file_size": zipped.size, "file_type": "application/zip"}]}  # fmt: skip
            session = client.create_dataset(body)["files"][0]["resumable_upload_url"]
            upload = ResumableUpload(client.storage, session, zipped.path, zipped.size, chunk=args.chunk_mib * 1024 * 1024)
            t0 = time.perf_counter()
            outcome = upload.run()
            up_s = time.perf_counter() - t0
            client.close()
        finally:
            if stop is not None:
                stop.set()
            if child is not None:
                child.join(timeout=30)
            if server is not None:
                server.stop()

    mb = zipped.size / 1_000_000
    where = "in-process thread" if args.in_process else "child process"
    print(f"zip: {mb:.1f} MB ({args.files} files) in {zip_s:.2f} s = {mb / zip_s:.1f} MB/s")
    print(
        f"upload: {mb:.1f} MB in {up_s:.2f} s = {mb / up_s:.1f} MB/s "
        f"({args.chunk_mib} MiB chunks, emulator in a {where}, loopback)"
    )
    print(f"requests: {outcome.requests} ({stats.summary()}); bytes sent {outcome.sent:,}")


if __name__ == "__main__":
    main()
