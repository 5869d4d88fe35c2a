"""Cold hashing at disk speed: labelsync's scan + hash + cache write vs ``sha1sum``, same run.

Usage::

    .venv/bin/python benchmarks/hashing.py [--small 100000] [--small-size 256]
                                           [--large 1000] [--large-size 8388608]
                                           [--repeat 5] [--jobs 2]

For each tree (``--small`` files of ``--small-size`` bytes, then ``--large`` files of
``--large-size`` bytes; 1,000 files per directory, mtimes aged past the racy window) it
generates the files under ``/tmp/ls-bench-hash-*``, then, ``--repeat`` times, interleaved so
the machine's load hits every contender alike:

* ``labelsync cold``: what a no-op plan with an empty hash cache does locally:
  ``scan_dir(prehash=cache.has_none_under)`` + ``HashCache.digest_columns`` (cache deleted
  first: every file read and hashed, every row written; a tree past
  ``scan.PARALLEL_AFTER`` files is scanned and hashed by forked workers);
* ``labelsync cold, one-process scan``: the same with the parallel scan off (the code
  before it: the scan in this process, then ``hash_files`` on threads);
* ``hash_files (processes)`` / ``hash_files (threads)``: the hashing alone (no scan, no
  cache), with worker processes and with threads, which decides between them;
* ``find | xargs -0 sha1sum`` (one process) and ``find | xargs -0 -P 2 -n N/8 sha1sum`` (two
  at a time, 8 batches: both have work on the 1,000-file tree too).

It prints each contender's median wall time, throughput (MB/s, files/s), CPU seconds
(with its children: workers, sha1sum) and the ratio of
labelsync's throughput to sha1sum's (target: at least 90%), with ``uptime``'s load before
and after (the machine is shared: compare figures of one run only). The page cache is warm
for everyone (the first, untimed pass reads every file). The trees are deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import compile_labelsync

import labelsync.local.scan as scan_mod
from labelsync.local.hashcache import CACHE_RELPATH, HashCache
from labelsync.local.hashing import hash_files
from labelsync.local.scan import scan_dir

OLD_NS = 1_600_000_000_000_000_000
PER_DIR = 1000


def cpu_s() -> float:
    """CPU seconds of this process and its reaped children (workers, sha1sum) so far."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def generate(root: Path, count: int, size: int) -> None:
    """``count`` distinct files of ``size`` bytes (a shared random body, a unique 16-byte head)."""
    body = os.urandom(max(0, size - 16))
    for i in range(count):
        d = root / "data" / f"d{i // PER_DIR:04}"
        if i % PER_DIR == 0:
            d.mkdir(parents=True, exist_ok=True)
        p = d / f"{i:07}.bin"
        with open(p, "wb") as fh:
            fh.write((f"{i:016}".encode() + body)[:size])
        os.utime(p, ns=(OLD_NS, OLD_NS))


def shell(command: str, cwd: Path) -> Callable[[], None]:
    return lambda: subprocess.run(command, shell=True, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def labelsync_cold(root: Path, jobs: int, parallel: bool = True) -> Callable[[], None]:
    def run() -> None:
        shutil.rmtree((root / CACHE_RELPATH).parent, ignore_errors=True)
        after = scan_mod.PARALLEL_AFTER
        if not parallel:
            scan_mod.PARALLEL_AFTER = 1 << 62
        try:
            with HashCache(root) as cache:
                files = scan_dir(root, root / "data", prehash=cache.has_none_under)
                cache.digest_columns(files, jobs=jobs)
                assert cache.stats.hashed == len(files), cache.stats
        finally:
            scan_mod.PARALLEL_AFTER = after

    return run


def hash_only(root: Path, jobs: int, processes: bool) -> Callable[[], None]:
    files = scan_dir(root, root / "data")
    paths, sizes = [f.path for f in files], [f.size for f in files]
    return lambda: None if hash_files(paths, sizes, jobs, processes=processes) else None


def bench_tree(count: int, size: int, repeat: int, jobs: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="ls-bench-hash-")).resolve()
    try:
        t = time.perf_counter()
        generate(root, count, size)
        total = count * size
        print(f"\n{count:,} files x {size:,} B = {total / 1e6:,.0f} MB in {root} (generated in {time.perf_counter() - t:.1f} s)")
        print(f"load before: {load()}")
        contenders: dict[str, Callable[[], None]] = {
            "labelsync cold (scan+hash+cache)": labelsync_cold(root, jobs),
            "labelsync cold, one-process scan": labelsync_cold(root, jobs, parallel=False),
            f"hash_files processes (jobs {jobs})": hash_only(root, jobs, True),
            f"hash_files threads (jobs {jobs})": hash_only(root, jobs, False),
            "find | xargs -0 sha1sum": shell("find data -type f -print0 | xargs -0 sha1sum", root),
            "find | xargs -0 -P 2 sha1sum": shell(f"find data -type f -print0 | xargs -0 -P 2 -n {max(1, count // 8)} sha1sum", root),
        }
        times: dict[str, list[float]] = {name: [] for name in contenders}
        cpus: dict[str, list[float]] = {name: [] for name in contenders}
        contenders["find | xargs -0 sha1sum"]()  # warm the page cache, untimed
        for _ in range(repeat):
            for name, fn in contenders.items():
                start, cpu = time.perf_counter(), cpu_s()
                fn()
                times[name].append(time.perf_counter() - start)
                cpus[name].append(cpu_s() - cpu)
        print(f"load after:  {load()}")
        med = {name: statistics.median(ts) for name, ts in times.items()}
        for name, ts in times.items():
            runs = " ".join(f"{x:.2f}" for x in ts)
            print(f"  {name:<38} median {med[name]:7.3f} s  {total / med[name] / 1e6:8.1f} MB/s  {count / med[name]:9,.0f} files/s"
                  f"  CPU {statistics.median(cpus[name]):6.2f} s  (runs: {runs})")
        for ours in ("labelsync cold (scan+hash+cache)", "labelsync cold, one-process scan"):
            for base in ("find | xargs -0 sha1sum", "find | xargs -0 -P 2 sha1sum"):
                print(f"  {ours} throughput / {base}: {med[base] / med[ours]:.0%}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=100_000, help="files in the small-file tree (0: skip)")
    ap.add_argument("--small-size", type=int, default=256)
    ap.add_argument("--large", type=int, default=1000, help="files in the large-file tree (0: skip)")
    ap.add_argument("--large-size", type=int, default=8 << 20)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    compile_labelsync()
    print(f"{os.cpu_count()} CPUs; jobs={args.jobs}; medians of {args.repeat} interleaved runs")
    if args.small:
        bench_tree(args.small, args.small_size, args.repeat, args.jobs)
    if args.large:
        bench_tree(args.large, args.large_size, args.repeat, args.jobs)


if __name__ == "__main__":
    main()
