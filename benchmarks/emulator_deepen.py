"""Upload throughput of the Deepen emulator's resumable sessions, in MB/s.

Builds a deterministic zip (default 200 MB: stored entries of seeded pseudo-random bytes) in
a temporary directory, creates a dataset on an in-process emulator (loopback, ephemeral port)
and uploads the zip over the GCS resumable protocol with httpx in 8 MiB chunks, each chunk
resuming from the ``Range`` of the previous 308. Prints the upload figure, then the time
``process_uploaded_data`` takes to see the files.

    .venv/bin/python benchmarks/emulator_deepen.py [--size-mb 200] [--chunk-mib 8] [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from labelsync.emulator.deepen import create_app
from labelsync.emulator.runtime import EmbeddedServer, FaultConfig

TOKEN = "bench-token"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(56)


def build_zip(path: Path, size: int) -> int:
    """A zip of at least ``size`` bytes, the same bytes on every run; returns its length."""
    rng = random.Random(20260101)
    entry = 4 * 1024 * 1024
    written = 0
    index = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        while written < size:
            info = zipfile.ZipInfo(f"{index:06d}.png", date_time=(2026, 1, 1, 0, 0, 0))
            archive.writestr(info, PNG + rng.randbytes(entry - len(PNG)))
            written += entry
            index += 1
    return path.stat().st_size


def upload(client: httpx.Client, url: str, path: Path, chunk: int) -> tuple[float, int]:
    """Upload ``path`` in ``chunk`` pieces; returns (seconds, requests)."""
    total = path.stat().st_size
    offset = 0
    requests = 0
    started = time.perf_counter()
    with path.open("rb") as handle:
        while True:
            handle.seek(offset)
            piece = handle.read(chunk)
            response = client.put(
                url,
                content=piece,
                headers={"Content-Range": f"bytes {offset}-{offset + len(piece) - 1}/{total}"},
            )
            requests += 1
            if response.status_code in (200, 201):
                return time.perf_counter() - started, requests
            if response.status_code != 308:
                raise RuntimeError(f"upload failed: {response.status_code} {response.text}")
            offset = int(response.headers["Range"].split("-")[1]) + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--chunk-mib", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="labelsync-bench-deepen-") as tmp:
        root = Path(tmp)
        zip_path = root / "data.zip"
        size = build_zip(zip_path, args.size_mb * 1000 * 1000)
        app = create_app(root / "state", tokens=[TOKEN], faults=FaultConfig(latency_ms=args.latency_ms))
        with (
            EmbeddedServer(app) as server,
            httpx.Client(
                base_url=f"{server.url}/api/v2", headers={"Authorization": f"Bearer {TOKEN}"}
            ) as api,
            httpx.Client(timeout=120) as raw,
        ):
            dataset = api.post(
                "/clients/bench/datasets",
                json={
                    "dataset_name": "bench",
                    "dataset_type": "images",
                    "files": [{"file_size": size, "file_type": "application/zip"}],
                },
            ).json()
            url = dataset["files"][0]["resumable_upload_url"]
            seconds, requests = upload(raw, url, zip_path, args.chunk_mib * 1024 * 1024)
            name = parse_qs(urlsplit(url).query)["name"][0].split("/")[-1]
            started = time.perf_counter()
            api.post(f"/datasets/{dataset['dataset_id']}/process_uploaded_data", json={"file_name": name})
            while (
                api.get(f"/datasets/{dataset['dataset_id']}").json()["processing_status"] == "files_uploaded"
            ):
                time.sleep(0.05)
            processed = time.perf_counter() - started
        app.close()
    print(
        f"deepen emulator upload: {size / 1e6:.1f} MB in {args.chunk_mib} MiB chunks ({requests} requests), "
        f"{seconds:.2f} s, {size / 1e6 / seconds:.1f} MB/s"
    )
    print(f"deepen emulator process_uploaded_data -> files listed: {processed:.2f} s")


if __name__ == "__main__":
    main()
