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

``--local-side`` (no emulator, no apply: a few seconds at 1,000,000 files instead of many
minutes) times what a no-op plan does locally, in a fresh process each time (imports,
manifests, scan, hash cache, inputs fingerprint: ``load_desired``), against coreutils on the
same tree, and each with the parallel scan off (``one-process``: the code before it):

* cold (hash cache deleted) vs ``find | xargs -0 sha1sum`` (and ``-P 2``): throughput ratio
  (issue 15 target: at least 90%);
* warm (``--repeat`` times, alternated) vs ``find DATA -printf '%s %T@\\n'``: ratio of wall
  and of CPU seconds (target: at most 1.5x).

With ``--reuse DIR`` it starts from ``DIR/repo`` (or ``DIR`` itself; a tree this script or ``memory.py --keep``
made) instead of generating one. Wall, CPU seconds (the process and its children) and
``uptime``'s load are printed for every run.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import check, emulator, fmt_routes, generate_files, run_labelsync, write_repo


def timed_shell(command: str, cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, shell=True, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


LOCAL_SIDE = (
    "import sys; from pathlib import Path; import labelsync.local.scan as scan; "
    "scan.PARALLEL_AFTER = scan.PARALLEL_AFTER if sys.argv[2] == 'parallel' else 1 << 62; "
    "from labelsync.cli.sync import load_desired; load_desired([Path(sys.argv[1])])"
)


FIND = "find -printf '%s %T@'"


def timed(command: list[str] | str) -> tuple[float, float]:
    """``(wall s, CPU s of the command and its children)`` of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, shell=isinstance(command, str), check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def local_side(repo: Path, repeat: int) -> None:
    """The ``--local-side`` runs (see the module docstring)."""
    cache = repo / ".labelsync" / "cache"
    runs: dict[str, list[tuple[float, float]]] = {}

    def one(name: str, command: list[str] | str) -> None:
        wall, cpu = timed(command)
        runs.setdefault(name, []).append((wall, cpu))
        print(f"  {name:<34} {wall:7.2f} s  {cpu:6.2f} CPU-s  load {os.getloadavg()[0]:.2f}", flush=True)

    ours = {mode: [sys.executable, "-c", LOCAL_SIDE, str(repo), mode] for mode in ("parallel", "one-process")}
    sha1sum = f"cd {repo} && find data -type f -print0 | xargs -0 sha1sum"
    sha1sum_p = f"cd {repo} && find data -type f -print0 | xargs -0 -P 2 -n 20000 sha1sum"
    find = f"find {repo / 'data'} -printf '%s %T@\\n'"
    print(f"cold (hash cache deleted before each labelsync run); {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    timed(sha1sum)  # the page cache warm for everyone, untimed
    for _ in range(max(1, repeat // 2)):
        for mode in ("parallel", "one-process"):
            shutil.rmtree(cache, ignore_errors=True)
            one(f"labelsync cold, {mode}", ours[mode])
            one("find | xargs -0 sha1sum", sha1sum)
        one("find | xargs -0 -P 2 sha1sum", sha1sum_p)
    print("warm (the first run of each mode remembers the digest, untimed)")
    for mode in ("parallel", "one-process"):
        timed(ours[mode])
    for _ in range(repeat):
        one(FIND, find)
        one("labelsync warm, parallel", ours["parallel"])
        one("labelsync warm, one-process", ours["one-process"])
    med = {name: (statistics.median(w for w, _ in r), statistics.median(c for _, c in r)) for name, r in runs.items()}
    print("medians:")
    for name, (wall, cpu) in med.items():
        print(f"  {name:<34} {wall:7.2f} s  {cpu:6.2f} CPU-s")
    finds = med[FIND]
    for mode in ("parallel", "one-process"):
        cold, warm = med[f"labelsync cold, {mode}"], med[f"labelsync warm, {mode}"]
        print(f"  {mode}: cold throughput {med['find | xargs -0 sha1sum'][0] / cold[0]:.0%} of sha1sum "
              f"({med['find | xargs -0 -P 2 sha1sum'][0] / cold[0]:.0%} of -P 2; target >= 90%); "
              f"warm local side {warm[0] / finds[0]:.2f}x find wall, {warm[1] / finds[1]:.2f}x CPU (target <= 1.5x)")


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
    parser.add_argument("--local-side", action="store_true", help="only the local side, cold and warm, vs coreutils")
    parser.add_argument("--reuse", type=Path, help="with --local-side: the repo DIR/repo or DIR (no generation)")
    parser.add_argument("--repeat", type=int, default=3, help="with --local-side: warm runs of each")
    args = parser.parse_args()
    if args.local_side and args.reuse:
        reuse = args.reuse.resolve()
        local_side(reuse / "repo" if (reuse / "repo").is_dir() else reuse, args.repeat)
        return

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
        if args.local_side:
            write_repo(repo, "http://127.0.0.1:9", "bench-noop")  # never contacted
            local_side(repo, args.repeat)
            return
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
