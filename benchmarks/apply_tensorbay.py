"""Initial apply of N files to TensorBay: labelsync vs the official tensorbay SDK, same emulator.

Usage::

    .venv/bin/python benchmarks/apply_tensorbay.py [--files 5000] [--size 65536] [--latency-ms 20]
                                                   [--jobs 32] [--sdk-jobs 8] [--skip-sdk]
                                                   [--engines pool,httpx,aiohttp] [--rounds 3] [--profile]
                                                   [--storage-workers 0,1,2]

Generates ``--files`` files of ``--size`` deterministic random bytes in a temp dir, starts
the TensorBay emulator in a separate process (``benchmarks/common.py serve``: the same app
and latency knob as ``labelsync emulator tensorbay``, plus a request counter) with
``--latency-ms`` added to every request, then, in the same run:

a. ``labelsync apply <repo> --auto-approve --jobs J`` in a subprocess (fresh repo, fresh
   hash cache, fresh dataset), end to end;
b. the official SDK in a subprocess: ``gas.create_dataset(name)``, a ``Dataset`` with one
   segment of ``Data(path)`` items, ``gas.upload_dataset(dataset, jobs=8)``, then
   ``dataset_client.commit(...)`` (plain http through ``gas._client._open_api``, as in
   api/tensorbay.md §9.1).

``--engines`` runs (a) once per upload engine of ``benchmarks/upload_engines.py`` (the
shipped ``pool``, ``httpx.AsyncClient``, ``aiohttp``), and ``--rounds N`` repeats (a) and
(b) N times, interleaved, then prints the median wall of each engine and its ratio to the
SDK and to the first engine (each engine's run gets a fresh dataset and a fresh hash
cache). ``NAME@TREE`` is engine NAME of another checkout at TREE (its ``PYTHONPATH``; compile
its bytecode first), to compare with the code before a change in the same run.

``--storage-workers 0,1,2`` repeats all of it once per value, each against an emulator
whose upload route is served by that many processes of their own (``StorageHost``, as
``labelsync emulator tensorbay --storage-workers N``; 0: by the emulator's one event loop,
the default), and ends with one line per value: labelsync's wall, CPU and ratio to the
request bound, the SDK's wall and SDK / labelsync.

``--profile`` runs labelsync with ``LABELSYNC_PROFILE=1`` and prints its phase times
(start-up, scan and hash, plan, open, files, commit; ``labelsync/phases.py``).

Prints both wall times (process start to exit, and for the SDK also the time of its calls
alone), the ratio SDK/labelsync, the requests each run made (counted by the emulator), the
peak of concurrent requests seen by the emulator, the uploads/s the emulator sustained, and
the lower bound ``requests / concurrency * latency`` of each.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import LABELSYNC, TOKEN, Run, check, emulator, fmt_routes, generate_files, run, write_repo

ENGINE_RUNNER = [sys.executable, str(Path(__file__).with_name("upload_engines.py"))]


def sdk_worker(url: str, name: str, data_dir: str, jobs: int) -> None:
    """The SDK side (runs in its own process): create, upload, commit; prints JSON timings."""
    t0 = time.perf_counter()
    from tensorbay import GAS
    from tensorbay.dataset import Data, Dataset

    t_import = time.perf_counter() - t0
    gas = GAS(TOKEN, url="https://placeholder.invalid/")
    gas._client.gateway_url = f"{url}/gatewayv2/"
    gas._client._open_api = f"{url}/gatewayv2/tensorbay-open-api/v1/"
    start = time.perf_counter()
    gas.create_dataset(name)
    dataset = Dataset(name)
    segment = dataset.create_segment("train")
    for path in sorted(Path(data_dir).iterdir()):
        segment.append(Data(str(path)))
    t_build = time.perf_counter()
    dataset_client = gas.upload_dataset(dataset, jobs=jobs, quiet=True)
    t_upload = time.perf_counter()
    dataset_client.commit("sdk benchmark")
    end = time.perf_counter()
    print(
        json.dumps(
            {
                "import": t_import,
                "build": t_build - start,
                "upload": t_upload - t_build,
                "commit": end - t_upload,
                "calls": end - start,
            }
        )
    )


def lower_bound(requests: int, concurrency: int, latency_s: float, sequential: int = 0) -> float:
    """Seconds the latency alone costs: concurrent requests in waves, plus sequential ones."""
    return (math.ceil(requests / concurrency) + sequential) * latency_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--size", type=int, default=64 * 1024)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--jobs", type=int, default=32, help="labelsync apply --jobs (its default is 32)")
    parser.add_argument("--sdk-jobs", type=int, default=8)
    parser.add_argument("--skip-sdk", action="store_true")
    parser.add_argument("--engines", default="", help="comma list of upload engines to compare (benchmarks/upload_engines.py)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="print labelsync's phase times (LABELSYNC_PROFILE=1)")
    parser.add_argument("--drop-caches", action="store_true", help="empty the page cache before each labelsync run (root: the tree is read from disk)")
    parser.add_argument("--storage-workers", default="0", help="comma list: upload route served by N processes (0: by the emulator)")
    parser.add_argument("--sdk-worker", nargs=4, metavar=("URL", "NAME", "DIR", "JOBS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sdk_worker:
        url, name, data_dir, jobs = args.sdk_worker
        sdk_worker(url, name, data_dir, int(jobs))
        return

    latency = args.latency_ms / 1000
    total_mib = args.files * args.size / 2**20
    with tempfile.TemporaryDirectory(prefix="ls-bench-apply-") as tmp:
        tmp_path = Path(tmp)
        t = time.perf_counter()
        generate_files(tmp_path / "repo" / "data", args.files, args.size)
        print(f"generated {args.files:,} files of {args.size:,} bytes ({total_mib:,.0f} MiB) in {time.perf_counter() - t:.1f} s")
        summary: list[str] = []
        for workers in [int(w) for w in args.storage_workers.split(",") if w]:
            summary.append(one_emulator(args, tmp_path, workers, latency, total_mib))
        print(f"\n===== summary (medians; request bound from each run's requests; {uptime()})")
        for line in summary:
            print(line)


def one_emulator(args: argparse.Namespace, tmp_path: Path, workers: int, latency: float, total_mib: float) -> str:
    """Every round against one emulator with ``workers`` storage workers; its summary line."""
    where = f"{workers} storage worker process(es)" if workers else "uploads on the emulator's event loop"
    with emulator(tmp_path / f"emulator-{workers}", latency_ms=args.latency_ms, storage_workers=workers) as emu:
        print(f"\n##### emulator (separate process) at {emu.url}, latency {args.latency_ms:g} ms per request, {where}")
        engines = [e for e in args.engines.split(",") if e] or [""]
        walls: dict[str, list[float]] = {e or "pool": [] for e in engines}
        cpus: list[float] = []
        bounds: list[float] = []
        sdk_walls: list[float] = []
        for round_no in range(1, args.rounds + 1):
            if args.rounds > 1:
                print(f"\n===== round {round_no} of {args.rounds}; {uptime()}")
            for number, engine in enumerate(engines):
                ls, bound = labelsync_run(args, emu, tmp_path, engine, f"bench-labelsync-w{workers}-{number}-{round_no}", latency, total_mib)
                walls[engine or "pool"].append(ls.wall)
                if number == 0:
                    cpus.append(ls.cpu_s)
                    bounds.append(bound)
            if args.skip_sdk:
                continue
            sdk = sdk_run(args, emu, tmp_path, f"bench-sdk-w{workers}-{round_no}", latency, total_mib)
            sdk_walls.append(sdk)
            for engine, values in walls.items():
                print(f"ratio SDK / labelsync[{engine}] (wall, process to process): {sdk / values[-1]:.2f}x (target >= 4x)")
        if len(engines) > 1 or args.rounds > 1:
            print(f"\n===== medians over {args.rounds} round(s); {uptime()}")
            base = statistics.median(walls[next(iter(walls))])
            sdk_median = statistics.median(sdk_walls) if sdk_walls else None
            for engine, values in walls.items():
                median = statistics.median(values)
                line = f"{engine:8} median {median:6.2f} s (runs {', '.join(f'{v:.2f}' for v in values)}); vs {next(iter(walls))}: {median / base:.2f}x"
                if sdk_median is not None:
                    line += f"; SDK median {sdk_median:.2f} s / this = {sdk_median / median:.2f}x"
                print(line)
    wall = statistics.median(walls[next(iter(walls))])
    bound = statistics.median(bounds)
    line = f"storage workers {workers}: labelsync {wall:.2f} s wall, CPU {statistics.median(cpus):.2f} s"
    if bound > 0:
        line += f", bound {bound:.2f} s, wall / bound {wall / bound:.2f}x (target <= 1.2x)"
    if sdk_walls:
        sdk_wall = statistics.median(sdk_walls)
        line += f"; SDK {sdk_wall:.2f} s, SDK / labelsync {sdk_wall / wall:.2f}x (target >= 4x)"
    return line


def uptime() -> str:
    """The load averages, to say how busy the shared machine was."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def labelsync_run(args: argparse.Namespace, emu: object, tmp_path: Path, engine: str, name: str, latency: float, total_mib: float) -> tuple[Run, float]:
    """(a): one fresh apply (new dataset, no hash cache) with ``engine`` ('' = as shipped);
    the run and its request lower bound."""
    repo = write_repo(tmp_path / "repo", emu.url, name)  # type: ignore[attr-defined]
    shutil.rmtree(repo / ".labelsync", ignore_errors=True)
    emu.reset()  # type: ignore[attr-defined]
    command = [*ENGINE_RUNNER, engine] if engine else LABELSYNC
    env: dict[str, str] | None = {"LABELSYNC_PROFILE": "1"} if args.profile else None
    if "@" in engine:  # NAME@TREE: engine NAME of another checkout (e.g. the code before a change)
        name_in_tree, tree = engine.split("@", 1)
        command = [sys.executable, str(Path(tree) / "benchmarks" / "upload_engines.py"), name_in_tree]
        env = {**(env or {}), "PYTHONPATH": tree}
    if args.drop_caches:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")  # PermissionError unless root
    started = time.time()
    ls = check(run([*command, "apply", str(repo), "--auto-approve", "--jobs", str(args.jobs)], repo, env=env), what="labelsync apply")
    ls_stats = emu.measure()  # type: ignore[attr-defined]
    first_api, first_upload = ls_stats["first"] - started, ls_stats["first_upload"] - started
    ls_server_s = ls_stats["span"]
    label = f" [engine {engine}]" if engine else ""
    print(f"\n(a) labelsync apply --jobs {args.jobs}{label}: {ls.wall:.2f} s wall, CPU {ls.cpu_s:.1f} s (peak RSS {ls.max_rss_mb:.0f} MB)")
    print(f"    requests: {ls_stats['total']:,} ({ls_stats['uploads']:,} storage uploads + {ls_stats['api']:,} API), peak concurrency at the emulator{' (API process)' if ls_stats['storage_workers'] else ''} {ls_stats['peak_concurrency']}")
    print(f"    after the process started: first request at {first_api:.2f} s, first upload at {first_upload:.2f} s")
    print(f"    first to last request: {ls_server_s:.2f} s; uploads/s at the emulator: {ls_stats['uploads'] / max(ls_server_s, 1e-9):,.0f} ({total_mib / max(ls_server_s, 1e-9):,.0f} MiB/s)")
    print(f"    emulator CPU {ls_stats['cpu']:.1f} s = {ls_stats['uploads'] / max(ls_stats['cpu'], 1e-9):,.0f} uploads per emulator CPU-second")
    print(
        f"    CPU per file: labelsync {ls.cpu_s / args.files * 1000:.3f} ms vs emulator {ls_stats['cpu'] / args.files * 1000:.3f} ms "
        f"(labelsync / emulator = {ls.cpu_s / max(ls_stats['cpu'], 1e-9):.2f}x); {uptime()}"
    )
    print(f"    routes: {fmt_routes(ls_stats)}")
    ls_bound = lower_bound(ls_stats["total"], args.jobs, latency)
    if ls_bound > 0:  # no latency: no request bound
        print(f"    lower bound = requests / jobs * latency = ceil({ls_stats['total']} / {args.jobs}) * {args.latency_ms:g} ms = {ls_bound:.2f} s; wall / bound = {ls.wall / ls_bound:.2f}x")
    err = ls.err
    if args.profile:
        at = err.find("labelsync profile:")
        profile, err = (err[at:], err[:at]) if at >= 0 else ("(no profile printed)", err)
        print("    " + profile.rstrip().replace("\n", "\n    "))
    tail = [line for line in (ls.out + err).splitlines() if line.strip()][-3:]
    print("    output tail: " + " | ".join(tail))
    return ls, ls_bound


def sdk_run(args: argparse.Namespace, emu: object, tmp_path: Path, name: str, latency: float, total_mib: float) -> float:
    """(b): the official SDK's create + upload + commit; returns its wall time."""
    emu.reset()  # type: ignore[attr-defined]
    sdk = check(
        run([sys.executable, __file__, "--sdk-worker", emu.url, name, str(tmp_path / "repo" / "data"), str(args.sdk_jobs)], tmp_path),  # type: ignore[attr-defined]
        what="SDK upload",
    )
    sdk_stats = emu.measure()  # type: ignore[attr-defined]
    times = json.loads(sdk.out.strip().splitlines()[-1])
    sdk_server_s = sdk_stats["span"]
    callbacks = sdk_stats["routes"].get("PUT /datasets/*/multi/callback", 0)
    print(f"\n(b) SDK create_dataset + upload_dataset(jobs={args.sdk_jobs}) + commit: {sdk.wall:.2f} s wall, CPU {sdk.cpu_s:.1f} s (peak RSS {sdk.max_rss_mb:.0f} MB)")
    print(f"    of which: import {times['import']:.2f} s, build Dataset {times['build']:.2f} s, upload_dataset {times['upload']:.2f} s, commit {times['commit']:.2f} s; calls alone {times['calls']:.2f} s")
    print(f"    requests: {sdk_stats['total']:,} ({sdk_stats['uploads']:,} storage uploads + {sdk_stats['api']:,} API, {callbacks} multi/callback), peak concurrency at the emulator{' (API process)' if sdk_stats['storage_workers'] else ''} {sdk_stats['peak_concurrency']}")
    print(f"    first to last request: {sdk_server_s:.2f} s; uploads/s at the emulator: {sdk_stats['uploads'] / max(sdk_server_s, 1e-9):,.0f} ({total_mib / max(sdk_server_s, 1e-9):,.0f} MiB/s)")
    print(f"    emulator CPU {sdk_stats['cpu']:.1f} s = {sdk_stats['uploads'] / max(sdk_stats['cpu'], 1e-9):,.0f} uploads per emulator CPU-second")
    print(f"    routes: {fmt_routes(sdk_stats)}")
    # Callbacks run inside the worker threads (MultiCallbackTask), so they share the jobs.
    worker = sdk_stats["uploads"] + callbacks
    sdk_bound = lower_bound(worker, args.sdk_jobs, latency, sequential=sdk_stats["total"] - worker)
    print(
        f"    lower bound = (uploads + callbacks) / jobs * latency + other requests * latency = "
        f"(ceil({worker} / {args.sdk_jobs}) + {sdk_stats['total'] - worker}) * {args.latency_ms:g} ms = {sdk_bound:.2f} s"
    )
    print(f"    SDK calls alone {times['calls']:.2f} s")
    return sdk.wall

if __name__ == "__main__":
    main()
