"""Peak memory (RSS) of ``labelsync plan`` and ``labelsync apply`` on a 100,000-file dataset.

Usage::

    .venv/bin/python benchmarks/memory.py [--files 100000] [--size 256] [--change 1000]
    .venv/bin/python benchmarks/memory.py --reuse DIR   # DIR from noop_plan.py --keep DIR

Peak RSS is ``ru_maxrss`` of each labelsync child process (``os.wait4``), i.e. the CLI
process itself (the emulator runs in a separate process and is not counted). Without
``--reuse`` it generates the files in a temp dir and measures the initial apply too; with
it, it starts from the repo and emulator state that ``noop_plan.py --keep DIR`` left (the
data is already applied). Then it changes ``--change`` files and adds as many new ones,
and measures:

* ``plan`` with a warm hash cache (a real plan: changes, the remote is listed);
* ``plan`` with a cold hash cache (every file hashed again);
* ``apply --auto-approve`` of that change;
* a no-op ``plan`` afterwards (should be "no changes").

Target: each under 500 MB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from common import OLD_NS, check, emulator, generate_files, run_labelsync, write_repo


def report(label: str, result, stats) -> None:  # type: ignore[no-untyped-def]
    print(
        f"{label:<32} peak RSS {result.max_rss_mb:6.0f} MB   wall {result.wall:7.2f} s   CPU {result.cpu_s:6.2f} s   "
        f"exit {result.code}   {stats['total']:,} requests ({stats['uploads']:,} uploads)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--change", type=int, default=1000, help="files changed (and as many added)")
    parser.add_argument("--reuse", type=Path, help="a DIR kept by noop_plan.py --keep DIR")
    args = parser.parse_args()

    cleanup = None
    if args.reuse:
        work = args.reuse.resolve()
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="ls-bench-mem-")
        work = Path(cleanup.name)
    try:
        repo = work / "repo"
        if not args.reuse:
            generate_files(repo / "data", args.files, args.size, per_dir=1000)
        files = sum(1 for p in (repo / "data").rglob("*") if p.is_file())
        print(f"{files:,} files in {repo / 'data'}")
        with emulator(work / "emulator") as emu:
            write_repo(repo, emu.url, "bench-noop")  # the dataset noop_plan.py applied
            if not args.reuse:
                emu.reset()
                report("initial apply", check(run_labelsync(["apply", str(repo), "--auto-approve"], repo), what="apply"), emu.measure())

            # A real change: rewrite --change files, add as many new ones.
            existing = sorted((repo / "data").rglob("*.bin"))
            step = max(1, len(existing) // max(1, args.change))
            stamp = str(time.time_ns()).encode()
            for p in existing[::step][: args.change]:
                p.write_bytes(p.read_bytes()[: max(0, args.size - len(stamp))] + stamp)
                os.utime(p, ns=(OLD_NS + 1, OLD_NS + 1))
            generate_files(repo / "data" / f"new-{stamp.decode()}", args.change, args.size, seed=int(stamp) % 2**31)
            print(f"changed {args.change:,} files and added {args.change:,}")

            emu.reset()
            report("plan (warm cache, changes)", check(run_labelsync(["plan", str(repo), "--detailed-exitcode"], repo), ok=(2,), what="plan"), emu.measure())
            shutil.rmtree(repo / ".labelsync" / "cache", ignore_errors=True)
            emu.reset()
            report("plan (cold cache, changes)", check(run_labelsync(["plan", str(repo), "--detailed-exitcode"], repo), ok=(2,), what="plan"), emu.measure())
            emu.reset()
            report("apply (the change)", check(run_labelsync(["apply", str(repo), "--auto-approve"], repo), what="apply"), emu.measure())
            emu.reset()
            report("plan after apply (no-op)", check(run_labelsync(["plan", str(repo), "--detailed-exitcode"], repo), ok=(0,), what="no-op plan"), emu.measure())
    finally:
        if cleanup is not None:
            cleanup.cleanup()


if __name__ == "__main__":
    main()
