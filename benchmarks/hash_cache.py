"""Benchmark the local data layer: scan, cold SHA-1 hashing vs sha1sum, warm cache, resolve.

Usage::

    .venv/bin/python benchmarks/hash_cache.py [--files N] [--size BYTES] [--jobs J] [--dir DIR] [--keep]

Generates N files (default 100,000 files of 64 bytes) in 100 directories, ages their mtime
past the racy-clean window, then prints:

* scan: ``scan_dir`` over the tree;
* cold: ``HashCache.digest_all`` with an empty cache (reads and hashes every file);
* sha1sum: ``find | xargs -P J sha1sum`` over the same files (the coreutils baseline);
* warm: a fresh ``HashCache`` (new process state, cache on disk) over the unchanged tree;
* resolve: ``resolve_desired`` of a one-segment manifest over the tree, warm cache
  (scan + cache + items + digest; labels for 10% of the files);
* labels: ``check_labels`` and ``read_labels`` over ``--label-lines`` lines (default 10,000),
  each with a CLASSIFICATION and 5 BOX2D with attributes; wall and CPU time (on a shared
  machine compare CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from labelsync.desired import resolve_desired
from labelsync.local.hashcache import CACHE_RELPATH, HashCache
from labelsync.local.labelcheck import check_labels
from labelsync.local.labels import read_labels
from labelsync.local.scan import scan_dir
from labelsync.manifest.model import Manifest
from labelsync.manifest.remotes import BUILTIN_REMOTES
from labelsync.manifest.validate import LoadedManifest, ManifestSet

OLD_NS = 1_600_000_000_000_000_000


def generate(root: Path, n: int, size: int) -> None:
    data_dir = root / "data"
    per_dir = max(1, n // 100)
    pad = os.urandom(max(0, size - 16))
    for i in range(n):
        d = data_dir / f"d{i // per_dir:03}"
        if i % per_dir == 0:
            d.mkdir(parents=True, exist_ok=True)
        p = d / f"{i:07}.bin"
        with open(p, "wb") as fh:
            fh.write(f"{i:016}".encode()[:size] + pad)
        os.utime(p, ns=(OLD_NS, OLD_NS))
    labels = [
        json.dumps({"remotePath": f"d{i // per_dir:03}/{i:07}.bin", "label": {"CLASSIFICATION": {"category": "a"}}})
        for i in range(0, n, 10)
    ]
    (root / "labels.jsonl").write_text("\n".join(labels) + "\n")


def timed(label: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    t, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    dt = time.perf_counter() - t
    print(f"{label:<34} {dt:8.3f} s  (cpu {time.process_time() - cpu:.3f} s)")
    return out, dt


LABEL_CATALOG = {
    "BOX2D": {
        "categories": [{"name": "car"}, {"name": "bus"}],
        "attributes": [
            {"name": "occluded", "type": "boolean"},
            {"name": "num", "type": "number", "minimum": 0, "maximum": 10, "parentCategories": ["car"]},
        ],
    },
    "CLASSIFICATION": {"categories": [{"name": "day"}, {"name": "night"}]},
}


def bench_labels(root: Path, n: int) -> None:
    box = {"box2d": {"xmin": 1, "ymin": 2, "xmax": 3.5, "ymax": 4}, "category": "car", "attributes": {"occluded": True, "num": 3}}
    f = root / "bench-labels.jsonl"
    f.write_text(
        "".join(
            json.dumps({"remotePath": f"{i:06}.jpg", "label": {"CLASSIFICATION": {"category": "day"}, "BOX2D": [box] * 5}}) + "\n"
            for i in range(n)
        )
    )
    known = {f"{i:06}.jpg" for i in range(n)}
    print(f"labels: {n} lines x (CLASSIFICATION + 5 BOX2D), {f.stat().st_size} bytes")
    for name, fn in (("check_labels", lambda: check_labels(f, LABEL_CATALOG, known)), ("read_labels", lambda: read_labels(f))):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        print(f"{name:<34} {time.perf_counter() - wall:8.3f} s  (cpu {time.process_time() - cpu:.3f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--size", type=int, default=64, help="bytes per file")
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--dir", type=Path, default=None, help="where to generate (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the generated tree")
    ap.add_argument("--label-lines", type=int, default=10_000, help="lines for the label check benchmark (0: skip)")
    args = ap.parse_args()

    root = Path(args.dir or tempfile.mkdtemp(prefix="labelsync-bench-")).resolve()
    try:
        print(f"{args.files} files of {args.size} B in {root} (jobs={args.jobs}, {os.cpu_count()} CPUs)")
        _, dt_gen = timed("generate", generate, root, args.files, args.size)
        files, dt_scan = timed("scan_dir", scan_dir, root, root / "data")
        total = sum(f.size for f in files)

        cache_file = root / CACHE_RELPATH
        if cache_file.exists():
            shutil.rmtree(cache_file.parent)
        cold = HashCache(root)
        blobs, dt_cold = timed("cold digest_all (empty cache)", cold.digest_all, files, jobs=args.jobs)
        cold.close()

        cmd = f"cd {root}/data && find . -type f -print0 | xargs -0 -n 2000 -P {args.jobs} sha1sum > /dev/null"
        _, dt_sha1sum = timed(f"sha1sum (xargs -P {args.jobs})", subprocess.run, cmd, shell=True, check=True)

        warm = HashCache(root)
        blobs2, dt_warm = timed("warm digest_all (fresh instance)", warm.digest_all, files, jobs=args.jobs)
        warm.close()
        assert blobs2 == blobs and warm.stats.hashed == 0, warm.stats

        m = Manifest.model_validate(
            {
                "apiVersion": "labelsync/v1",
                "kind": "Dataset",
                "metadata": {"name": "bench"},
                "spec": {
                    "catalog": {"CLASSIFICATION": {"categories": [{"name": "a"}]}},
                    "segments": [{"name": "s", "data": {"path": "data"}, "labels": {"path": "labels.jsonl"}}],
                },
            }
        )
        remote = BUILTIN_REMOTES[m.spec.remote]
        manifests = ManifestSet(root, {remote.name: remote}, [LoadedManifest(m, root / "bench.yaml", "bench.yaml", 1, 0, remote)])
        with HashCache(root) as cache:
            desired, dt_resolve = timed(
                "resolve_desired (warm cache)",
                resolve_desired,
                manifests,
                cache=cache,
                jobs=args.jobs,
            )
        assert len(desired[0].dataset.segments["s"].items) == len(files)

        print()
        print(f"files: {len(files)}, bytes: {total}, generate {dt_gen:.1f} s")
        print(f"scan {dt_scan:.3f} s | cold {dt_cold:.3f} s | sha1sum {dt_sha1sum:.3f} s | warm {dt_warm:.3f} s | resolve {dt_resolve:.3f} s")
        print(f"cold / sha1sum = {dt_cold / dt_sha1sum:.2f}x; warm is {dt_cold / max(dt_warm, 1e-9):.0f}x faster than cold")
        if args.label_lines:
            print()
            bench_labels(root, args.label_lines)
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
