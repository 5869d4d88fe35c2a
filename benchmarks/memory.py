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

Target (issue 15): each under 1 GB at 1,000,000 files.

``--initial`` measures only the initial apply, both ways, on one generated tree: ``apply
--auto-approve``, and ``plan -o plan.json`` + ``apply plan.json`` (each on a dataset of its
own, from a cold hash cache). ``--src LABEL=DIR`` (repeatable) runs labelsync from the source
tree DIR (``PYTHONPATH``; e.g. ``before=/tmp/main-checkout``) as well as this one, interleaved
in the same run, and prints each figure with the ratio to the first.

``--keep DIR`` generates into DIR (and keeps it, with the emulator's state) instead of a temp
dir; ``--reuse DIR`` then starts from it (generate once, measure again). ``--bytes-per-file``
measures in-process instead, with ``tracemalloc``, what each stage of a plan retains per file
(scan, desired state, live state, the diff of a change), with no emulator.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import LABELSYNC, OLD_NS, check, emulator, generate_files, run, run_labelsync, write_repo


def bytes_per_file(work: Path, files: int, size: int, change: int) -> None:
    """tracemalloc figures per stage of a plan of ``files`` files, in this process."""
    import tracemalloc

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from labelsync.cli.sync import load_desired
    from labelsync.columns import TableBuilder
    from labelsync.plan.differ import build_dataset_plan
    from labelsync.state import Dataset, Live, Segment

    repo = work / "repo"
    if not (repo / "data").is_dir():
        generate_files(repo / "data", files, size, per_dir=1000)
    write_repo(repo, "http://127.0.0.1:9", "bench-bytes")
    load_desired([repo])  # fills the hash cache: what follows is a warm plan
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]

    def line(what: str, retained: int, peak: int, n: int) -> None:
        print(f"{what:<40} retained {retained / n:7.1f} B/file   peak {peak / n:7.1f} B/file   ({retained / 2**20:7.1f} MB)")

    t = time.perf_counter()
    [want], _ = load_desired([repo])
    items = want.dataset.segments["train"].items
    n = len(items)  # LazyItems (a remembered digest): built now
    now, peak = tracemalloc.get_traced_memory()
    line("scan + hash cache + desired state", now - base, peak - base, n)
    tracemalloc.reset_peak()
    rows = TableBuilder()  # the live side as the paged listing builds it, --change files differ
    step = max(1, n // max(1, change))
    for i, item in enumerate(items.values()):
        assert item.blob is not None
        checksum = item.blob.checksum if i % step else "0" * 40
        rows.add_plain(item.remote_path, checksum, item.blob.size)
    live_items = rows.table()
    after_live, peak = tracemalloc.get_traced_memory()
    line("live state (listing as columns)", after_live - now, peak - now, n)
    live = Live(
        dataset=Dataset(name=want.dataset.name, provider="tensorbay", kind="normal", remote=want.dataset.remote,
                        branch=want.dataset.branch, catalog=want.dataset.catalog,
                        segments={"train": Segment(name="train", items=live_items)}),
        head="c" * 32,
    )
    tracemalloc.reset_peak()
    plan = build_dataset_plan(want, live, root=str(repo))
    after_plan, peak = tracemalloc.get_traced_memory()
    line(f"diff ({len(plan.changes):,} changes)", after_plan - after_live, peak - after_live, n)
    print(f"total retained {(after_plan - base) / n:.1f} B/file over {n:,} files; {time.perf_counter() - t:.2f} s")
    del plan
    empty = Live(dataset=None)
    start = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    initial = build_dataset_plan(want, empty, root=str(repo))
    now, peak = tracemalloc.get_traced_memory()
    line(f"initial plan ({len(initial.changes):,} changes)", now - start, peak - start, n)
    engine_peak(initial, repo, n, line)
    saved_plan_peak(initial, work, n, line)
    tracemalloc.stop()


def saved_plan_peak(plan, work: Path, n: int, line) -> None:  # type: ignore[no-untyped-def]
    """A saved initial plan read back (``apply PLANFILE``), and its check against the fresh plan."""
    import tracemalloc

    from labelsync.engine.saved import _difference, read_saved_plan
    from labelsync.plan.model import Plan
    from labelsync.plan.serialize import iter_plan_json

    path = work / "plan.json"
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(iter_plan_json(Plan((plan,), root=str(work / "repo"))))
    start = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    t = time.process_time()
    back = read_saved_plan(path, origin=str(path)).datasets[0]
    now, peak = tracemalloc.get_traced_memory()
    line(f"saved plan read back ({len(back.changes):,})", now - start, peak - start, n)
    tracemalloc.reset_peak()
    assert _difference(back, plan) is None
    after, peak = tracemalloc.get_traced_memory()
    line("its check against the fresh plan", after - now, peak - now, n)
    print(f"read back + check CPU {time.process_time() - t:.2f} s (tracemalloc on)")
    path.unlink()
    engine_peak(back, work / "repo", n, line)


class _NullSession:
    """A session that does no I/O: every blob is stored when handed over, registers are no-ops
    (what is measured is the engine's own bookkeeping per change)."""

    reuses_content = True
    messages: list[str] = []

    def open(self):  # type: ignore[no-untyped-def]
        from labelsync.providers.session import Opened

        return Opened()

    def put(self, change):  # type: ignore[no-untyped-def]
        return None

    def transfer(self, segment, files, blobs, report):  # type: ignore[no-untyped-def]
        from labelsync.providers.session import Finished

        for blob in blobs:
            report.stored(blob.checksum)
        return Finished()

    def register_batch(self, segment, labels):  # type: ignore[no-untyped-def]
        return 256

    def register(self, segment, changes):  # type: ignore[no-untyped-def]
        pass

    def delete(self, change):  # type: ignore[no-untyped-def]
        pass

    def commit(self, message, source):  # type: ignore[no-untyped-def]
        return "c1"

    def close(self, error):  # type: ignore[no-untyped-def]
        return None


def engine_peak(plan, repo: Path, n: int, line) -> None:  # type: ignore[no-untyped-def]
    """The engine's peak over the plan it is given: ``apply_dataset`` on a session with no I/O."""
    import tracemalloc

    from labelsync.engine.apply import apply_dataset
    from labelsync.providers.session import ApplyOptions, NullEvents

    start = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    t = time.process_time()
    result = apply_dataset(_NullSession(), plan, ApplyOptions(root=repo), NullEvents())  # type: ignore[arg-type]
    now, peak = tracemalloc.get_traced_memory()
    line(f"engine over it ({result.files_registered:,} registered)", now - start, peak - start, n)
    print(f"engine CPU {time.process_time() - t:.2f} s (tracemalloc on)")


def report(label: str, result, stats) -> None:  # type: ignore[no-untyped-def]
    print(
        f"{label:<32} peak RSS {result.max_rss_mb:6.0f} MB   wall {result.wall:7.2f} s   CPU {result.cpu_s:6.2f} s   "
        f"exit {result.code}   {stats['total']:,} requests ({stats['uploads']:,} uploads)"
    )


LOCAL_SIDE = (
    "import sys, time; from pathlib import Path; t = time.perf_counter(); "
    "from labelsync.cli.sync import load_desired; [d], _ = load_desired([Path(sys.argv[1])]); "
    "print(f'{time.perf_counter() - t:.3f}')"
)


def noop_only(work: Path) -> None:
    """Warm no-op plans of a kept DIR, its local side alone (load, scan, fingerprint: a
    process that resolves the desired state and stops) and ``find DATA -printf``, alternated."""
    repo = work / "repo"
    with emulator(work / "emulator") as emu:
        write_repo(repo, emu.url, "bench-noop")
        check(run_labelsync(["plan", str(repo)], repo), ok=(0, 2), what="warm-up plan")
        for _ in range(2):
            emu.reset()
            report("no-op plan (warm)", check(run_labelsync(["plan", str(repo), "--detailed-exitcode"], repo), what="no-op plan"), emu.measure())
            find_s, find_cpu = timed([f"find {repo / 'data'} -printf '%s %T@\\n' > /dev/null"], shell=True)
            local_s, local_cpu = timed([sys.executable, "-c", LOCAL_SIDE, str(repo)])
            print(f"local side {local_s:.2f} s ({local_cpu:.2f} CPU-s)   find -printf {find_s:.2f} s ({find_cpu:.2f} CPU-s)   "
                  f"ratio {local_s / find_s:.2f} wall, {local_cpu / find_cpu:.2f} CPU   load {os.getloadavg()[0]:.2f}")


def initial_both_ways(work: Path, files: int, size: int, sources: list[tuple[str, str | None]]) -> None:
    """Peak RSS of an initial apply of ``files`` files, ``--auto-approve`` and ``plan -o`` +
    ``apply PLANFILE``, for each ``(label, source dir or None: this tree)``."""
    repo = work / "repo"
    generate_files(repo / "data", files, size, per_dir=1000)
    print(f"{files:,} files generated at load {os.getloadavg()[0]:.2f}")
    figures: dict[str, list[tuple[str, float, float, float]]] = {}
    with emulator(work / "emulator") as emu:
        for label, src in sources:
            env = {"PYTHONPATH": src} if src else None
            for way in ("auto-approve", "plan -o + apply PLANFILE"):
                write_repo(repo, emu.url, f"bench-initial-{label}-{'auto' if way == 'auto-approve' else 'planfile'}")
                shutil.rmtree(repo / ".labelsync" / "cache", ignore_errors=True)
                emu.reset()
                if way == "auto-approve":
                    result = check(run([*LABELSYNC, "apply", str(repo), "--auto-approve"], repo, env=env), what="apply")
                    rss, wall, cpu = result.max_rss_mb, result.wall, result.cpu_s
                else:
                    planned = check(run([*LABELSYNC, "plan", str(repo), "-o", str(work / "plan.json")], repo, env=env), ok=(0, 2), what="plan -o")
                    result = check(run([*LABELSYNC, "apply", str(work / "plan.json")], repo, env=env), what="apply PLANFILE")
                    print(f"  [{label}] plan -o: peak RSS {planned.max_rss_mb:.0f} MB, {planned.wall:.1f} s, {planned.cpu_s:.1f} CPU-s")
                    rss, wall, cpu = result.max_rss_mb, result.wall, result.cpu_s
                figures.setdefault(way, []).append((label, rss, wall, cpu))
                print(f"[{label}] initial apply ({way}): peak RSS {rss:.0f} MB, wall {wall:.1f} s, {cpu:.1f} CPU-s, "
                      f"load {os.getloadavg()[0]:.2f}", flush=True)
    for way, rows in figures.items():
        first = rows[0][1]
        print(f"initial apply of {files:,} files, {way}: " + "; ".join(
            f"{label} {rss:.0f} MB ({rss / first:.2f}x of {rows[0][0]}), {cpu:.1f} CPU-s" for label, rss, _, cpu in rows))
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def timed(command: list[str], *, shell: bool = False) -> tuple[float, float]:
    """``(wall s, CPU s of the children)`` of one command (CPU: what a loaded machine cannot blur)."""
    import resource
    import subprocess

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(command[0] if shell else command, shell=shell, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--change", type=int, default=1000, help="files changed (and as many added)")
    parser.add_argument("--reuse", type=Path, help="a DIR kept by --keep DIR (or noop_plan.py --keep DIR)")
    parser.add_argument("--keep", type=Path, help="generate into DIR and keep it (for --reuse DIR)")
    parser.add_argument("--bytes-per-file", action="store_true", help="in-process tracemalloc figures per stage instead")
    parser.add_argument("--initial", action="store_true", help="only the initial apply, --auto-approve and plan -o + apply PLANFILE")
    parser.add_argument("--src", action="append", default=[], metavar="LABEL=DIR", help="with --initial: also run labelsync from DIR")
    parser.add_argument("--noop", action="store_true", help="with --reuse DIR: warm no-op plans, their local side, find -printf")
    args = parser.parse_args()
    if args.noop:
        if not args.reuse:
            parser.error("--noop needs --reuse DIR")
        noop_only(args.reuse.resolve())
        return

    cleanup = None
    if args.initial:
        sources = [(label, str(Path(src).resolve())) for label, _, src in (s.partition("=") for s in args.src)]
        with tempfile.TemporaryDirectory(prefix="ls-bench-mem-") as tmp:
            initial_both_ways(Path(tmp), args.files, args.size, [*sources, ("this", None)])
        return
    if args.bytes_per_file:
        work = (args.reuse or args.keep or Path(tempfile.mkdtemp(prefix="ls-bench-mem-"))).resolve()
        try:
            bytes_per_file(work, args.files, args.size, args.change)
        finally:
            if not (args.reuse or args.keep):
                shutil.rmtree(work, ignore_errors=True)
        return
    if args.reuse:
        work = args.reuse.resolve()
    elif args.keep:
        work = args.keep.resolve()
        work.mkdir(parents=True, exist_ok=True)
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="ls-bench-mem-")
        work = Path(cleanup.name)
    try:
        repo = work / "repo"
        if not args.reuse:
            generate_files(repo / "data", args.files, args.size, per_dir=1000)
            print(f"generated at load {os.getloadavg()[0]:.2f}")
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
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if cleanup is not None:
            cleanup.cleanup()


if __name__ == "__main__":
    main()
