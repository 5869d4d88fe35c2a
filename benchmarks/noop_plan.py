"""No-op re-plan of a large dataset: warm and cold hash cache, requests counted by the emulator.

Usage::

    .venv/bin/python benchmarks/noop_plan.py [--files 100000] [--size 256] [--latency-ms 0]
                                             [--keep DIR]

Generates ``--files`` files of ``--size`` deterministic random bytes (1,000 per directory)
in a temp dir (or in ``--keep DIR``, kept afterwards with the emulator's state so
``memory.py --reuse DIR`` can start from it), starts the counting TensorBay emulator in a
separate process (no added latency by default), then prints:

* the initial ``labelsync apply --auto-approve`` (wall time, requests, peak RSS);
* a no-op ``labelsync plan --detailed-exitcode`` with a WARM hash cache (twice), its wall
  time and the requests the emulator saw (targets: under 3 s, at most 5 requests);
* the same with a COLD hash cache (``<repo>/.labelsync/cache`` deleted first);
* ``find data -type f -print0 | xargs -0 sha1sum`` over the same files (and with
  ``xargs -P 2 -n 5000``), the coreutils baseline of the cold hashing.

The OS page cache is warm in every case (nothing is dropped: the machine is shared).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from common import check, emulator, fmt_routes, generate_files, run_labelsync, write_repo


def timed_shell(command: str, cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, shell=True, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def plan_once(label: str, repo: Path, emu) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    emu.reset()
    result = check(run_labelsync(["plan", str(repo), "--detailed-exitcode"], repo), ok=(0, 2), what=label)
    stats = emu.measure()
    status = "no changes" if result.code == 0 else "CHANGES (exit 2)"
    print(
        f"{label:<34} {result.wall:7.2f} s  {stats['total']} requests ({fmt_routes(stats)}); "
        f"exit {result.code}: {status}; CPU {result.cpu_s:.2f} s; peak RSS {result.max_rss_mb:.0f} MB"
    )
    return result.wall, stats["total"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--keep", type=Path, help="work in DIR (created) and keep it (for memory.py --reuse DIR)")
    args = parser.parse_args()

    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=False)
        work, cleanup = args.keep.resolve(), None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="ls-bench-noop-")
        work = Path(cleanup.name)
    try:
        repo = work / "repo"
        t = time.perf_counter()
        generate_files(repo / "data", args.files, args.size, per_dir=1000)
        print(f"generated {args.files:,} files of {args.size} bytes in {time.perf_counter() - t:.1f} s")
        with emulator(work / "emulator", latency_ms=args.latency_ms) as emu:
            write_repo(repo, emu.url, "bench-noop")
            emu.reset()
            first = check(run_labelsync(["apply", str(repo), "--auto-approve"], repo), what="initial apply")
            stats = emu.measure()
            print(
                f"{'initial apply':<34} {first.wall:7.2f} s  {stats['total']:,} requests "
                f"({stats['uploads']:,} uploads, peak concurrency {stats['peak_concurrency']}); "
                f"{args.files / first.wall:,.0f} files/s; labelsync CPU {first.cpu_s:.1f} s, emulator CPU {stats['cpu']:.1f} s; "
                f"peak RSS {first.max_rss_mb:.0f} MB"
            )
            print(f"{'':<34} routes: {fmt_routes(stats)}")
            plan_once("no-op plan, warm hash cache", repo, emu)
            plan_once("no-op plan, warm hash cache again", repo, emu)
            shutil.rmtree(repo / ".labelsync" / "cache")
            plan_once("no-op plan, COLD hash cache", repo, emu)
        sha1sum = timed_shell("find data -type f -print0 | xargs -0 sha1sum", repo)
        print(f"{'find | xargs -0 sha1sum':<34} {sha1sum:7.2f} s")
        sha1sum_p = timed_shell("find data -type f -print0 | xargs -0 -P 2 -n 5000 sha1sum", repo)
        print(f"{'find | xargs -0 -P 2 -n 5000 sha1sum':<34} {sha1sum_p:7.2f} s")
        if args.keep:
            print(f"kept {work} (repo/ and emulator/) for: benchmarks/memory.py --reuse {work}")
    finally:
        if cleanup is not None:
            cleanup.cleanup()


if __name__ == "__main__":
    main()
