"""Sharded apply under a per-machine uplink cap: throughput of 1, 2 and 4 shards, and the finish.

Usage::

    .venv/bin/python benchmarks/shards.py [--files 100000] [--size 4096] [--cap 10MB/s]
                                          [--shards 1,2,4] [--jobs 8] [--no-verify] [--logs]
                                          [--shared-checkout] [--existing 0]

Generates ``--files`` files of ``--size`` deterministic random bytes, starts the TensorBay
emulator as its own process (this script's ``serve``: ``create_app`` with the
``--client-bandwidth CAP`` of ``labelsync emulator tensorbay``, request bodies capped per
source address: one machine's uplink; every request counted per source address and route),
then for each shard count N, in the same run, applies the tree to a fresh dataset as a
sharded apply. With ``--existing K`` the dataset first gets K other files of the same size
by a plain apply (not timed), so that the sharded apply adds ``--files`` files to a dataset
of K: what each step lists of the remote then shows (``--prepare`` lists it once; each
shard reads its share from ``shards.live``):

1. ``labelsync apply --prepare -o shards.json --shards N dataset.yaml`` (timed);
2. N ``labelsync apply shards.json --shard I/N --jobs J`` processes at once, shard I bound
   to its own loopback address ``127.0.0.(I+1)`` with ``LABELSYNC_SOURCE_ADDRESS``, so the
   emulator gives each its own cap, as if each ran on its own machine. The shard phase runs
   from the first start to the last exit;
3. ``labelsync apply shards.json --finish`` (timed: the finish step at ``--files`` files);
4. unless ``--no-verify``: ``labelsync plan --detailed-exitcode`` must find no changes;
   the number of commits on the dataset's main branch is reported (one is expected).

Each shard runs in its own checkout (its ``data/`` hard links to one generated tree), with
its own hash cache, as on its own machine; the prepare runs in one more checkout, moved away
before the shards start (else ``shards.json`` sends every shard to it). Every run hashes its
files (fresh caches; the page cache is warm after the first). ``--shared-checkout`` runs
every shard in the prepare's checkout instead (shards on one machine sharing one hash cache). Prints per N: the shard phase's files/s and MB/s and their ratio to
the first N, the prepare and finish times, the CPU seconds of the shards and of the
emulator, and the load average before and after (the machine is shared: quote it with the
figures), and the remote's item listings (``data/details`` and ``data`` pages) of the prepare,
of every shard together and of the busiest shard, and of the finish, with the API requests
(all but storage uploads) of the shard phase. The cap bounds one shard at ``CAP``; N shards can reach N x ``CAP`` until the
emulator (one process, one event loop) or the machine's cores are the limit. Each shard
also pays a fixed cost (interpreter and imports, the listing of its share, its report):
pick ``--cap``, ``--files`` and ``--size`` so that sending takes well longer than that.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import API_PREFIX, LABELSYNC, TOKEN, TOKEN_ENV, _route, check, generate_files, run, write_repo

from labelsync.emulator.runtime import free_port

LISTINGS = ("GET /datasets/*/data/details", "GET /datasets/*/data")
"""The routes of an item listing (one request per page of 128)."""


class AddressCounting:
    """ASGI middleware counting requests per source address and route; ``GET /_bench/stats``
    answers ``{address: {route: n}}`` and ``POST /_bench/reset`` zeroes them (neither counted)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.counts: dict[str, Counter[str]] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] in ("/_bench/stats", "/_bench/reset"):
            if scope["path"] == "/_bench/reset":
                self.counts = {}
            body = json.dumps(self.counts).encode()
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] == "http":
            address = str((scope.get("client") or ("?",))[0])
            self.counts.setdefault(address, Counter())[_route(scope["method"], scope["path"])] += 1
        await self.app(scope, receive, send)


def serve(argv: list[str]) -> None:
    """``shards.py serve --port P --data-dir D --token T --client-bandwidth CAP``: the emulator, counted."""
    from labelsync.emulator.bandwidth import parse_rate
    from labelsync.emulator.runtime import FaultConfig, serve_forever
    from labelsync.emulator.tensorbay import create_app

    parser = argparse.ArgumentParser(prog="shards.py serve")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--client-bandwidth", default="0")
    args = parser.parse_args(argv)
    cap = parse_rate(args.client_bandwidth) if args.client_bandwidth != "0" else 0.0
    app = create_app(args.data_dir, tokens=[args.token], faults=FaultConfig(client_bandwidth=cap))
    serve_forever(AddressCounting(app), host="127.0.0.1", port=args.port)


def counts(url: str, *, reset: bool = False) -> dict[str, Counter[str]]:
    """The requests counted per address since the last reset (then reset, with ``reset``)."""
    request = urllib.request.Request(f"{url}/_bench/stats", headers={"X-Token": TOKEN})
    with urllib.request.urlopen(request, timeout=30) as response:
        found = {a: Counter(r) for a, r in json.loads(response.read()).items()}
    if reset:
        urllib.request.urlopen(urllib.request.Request(f"{url}/_bench/reset", method="POST"), timeout=30).close()
    return found


def listings(routes: Counter[str]) -> int:
    return sum(routes[r] for r in LISTINGS)


def api(routes: Counter[str]) -> int:
    return sum(n for r, n in routes.items() if not r.startswith("POST /storage"))

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def start_emulator(data_dir: Path, cap: str, log: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """``labelsync emulator tensorbay`` with the cap, in its own process; its URL once it answers."""
    port = free_port()
    command = [sys.executable, str(Path(__file__).resolve()), "serve", "--port", str(port), "--data-dir", str(data_dir)]
    command += ["--token", TOKEN, "--client-bandwidth", cap]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELSYNC_")}
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            api_get(url, "users")
            return url, process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the emulator did not start: {log.read_text()[-2000:]}") from None
            time.sleep(0.2)


def api_get(url: str, path: str) -> Any:
    request = urllib.request.Request(f"{url}{API_PREFIX}/{path}", headers={"X-Token": TOKEN})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def commits(url: str, dataset: str) -> int:
    """How many commits the dataset's main branch has."""
    (found,) = api_get(url, f"datasets?name={dataset}")["datasets"]
    return len(api_get(url, f"datasets/{found['id']}/commits?commit=main&limit=128")["commits"])


def checkout(trees: list[Path], root: Path, url: str, name: str) -> Path:
    """A repository at ``root`` whose ``data/`` holds hard links to each of ``trees`` (as
    ``data/<tree name>``): a checkout of its own."""
    (root / "data").mkdir(parents=True)
    for tree in trees:
        subprocess.run(["cp", "-al", str(tree), str(root / "data" / tree.name)], check=True)
    return write_repo(root, url, name)


@dataclass
class ShardRun:
    index: int
    code: int
    wall: float
    cpu: float
    err: str


def run_shards(repos: list[Path], spec: Path, count: int, jobs: int) -> tuple[float, list[ShardRun]]:
    """All ``count`` shards at once, shard I in ``repos[I-1]`` bound to 127.0.0.(I+1); (phase wall, each shard)."""
    runs: list[ShardRun] = []
    lock = threading.Lock()
    env_base = {k: v for k, v in os.environ.items() if not k.startswith(("LABELSYNC_", "GITHUB_"))}
    env_base.update({TOKEN_ENV: TOKEN, "CI": "true", "PYTHONUNBUFFERED": "1"})

    def one(index: int, process: subprocess.Popen[bytes], err_path: Path, started: float) -> None:
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        with lock:
            runs.append(ShardRun(index, os.waitstatus_to_exitcode(status), wall, usage.ru_utime + usage.ru_stime,
                                 err_path.read_text(errors="replace")))

    threads = []
    start = time.perf_counter()
    for index in range(1, count + 1):
        env = {**env_base, "LABELSYNC_SOURCE_ADDRESS": f"127.0.0.{index + 1}"}
        err_path = spec.parent / f"shard-{index}.log"
        with err_path.open("wb") as err:
            process = subprocess.Popen(
                [*LABELSYNC, "apply", str(spec), "--shard", f"{index}/{count}", "--jobs", str(jobs)],
                cwd=repos[index - 1], env=env, stdout=err, stderr=subprocess.STDOUT,
            )
        thread = threading.Thread(target=one, args=(index, process, err_path, time.perf_counter()))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    return wall, sorted(runs, key=lambda r: r.index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=4096, help="bytes per file")
    parser.add_argument("--cap", default="10MB/s", help="the emulator's per-address cap (--client-bandwidth)")
    parser.add_argument("--shards", default="1,2,4", help="shard counts to run, comma-separated")
    parser.add_argument("--jobs", type=int, default=8, help="uploads in flight per shard (--jobs)")
    parser.add_argument("--no-verify", action="store_true", help="skip the no-op re-plan after each finish")
    parser.add_argument("--logs", action="store_true", help="print the end of each shard's output")
    parser.add_argument("--shared-checkout", action="store_true", help="run every shard in one checkout (one hash cache)")
    parser.add_argument("--existing", type=int, default=0, help="files the dataset holds before the sharded apply (plain apply, untimed)")
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2:])
        return
    args = parser.parse_args()
    shard_counts = [int(n) for n in args.shards.split(",")]
    total_mb = args.files * args.size / 1e6

    tmp = Path(tempfile.mkdtemp(prefix="labelsync-shards-bench-"))
    try:
        data, old = tmp / "new", tmp / "old"
        t0 = time.perf_counter()
        generate_files(data, args.files, args.size, per_dir=1000)
        if args.existing:
            generate_files(old, args.existing, args.size, per_dir=1000, seed=1)
        trees = [old, data] if args.existing else [data]
        print(f"generated {args.files} files x {args.size} B ({total_mb:.1f} MB) in {time.perf_counter() - t0:.1f} s"
              + (f", and {args.existing} existing ones" if args.existing else ""))
        url, emulator = start_emulator(tmp / "emulator", args.cap, tmp / "emulator.log")
        print(f"emulator {url}, cap {args.cap} per source address; load {load()}")
        rows = []
        try:
            for count in shard_counts:
                work = tmp / f"run-{count}"
                work.mkdir()
                spec = work / "shards.json"
                # The prepare's own checkout goes away once it ran: each shard then runs in its
                # own checkout (its own hash cache), as on its own machine.
                if args.existing:
                    base_repo = checkout([old], work / "existing", url, f"shards{count}")
                    check(run([*LABELSYNC, "apply", "dataset.yaml", "--auto-approve"], base_repo), what="the existing files' apply")
                    shutil.rmtree(base_repo)
                prepare_repo = checkout(trees, work / "prepare", url, f"shards{count}")
                if args.shared_checkout:
                    repos = [prepare_repo] * count
                else:
                    repos = [checkout(trees, work / f"machine-{i}", url, f"shards{count}") for i in range(1, count + 1)]
                load_before = load()
                counts(url, reset=True)
                emu_cpu = cpu_seconds(emulator.pid)
                prepared = check(run([*LABELSYNC, "apply", "--prepare", "-o", str(spec), "--shards", str(count), "dataset.yaml"], prepare_repo),
                                 what=f"prepare ({count} shards)")
                prepare_lists = sum(listings(r) for r in counts(url, reset=True).values())
                if not args.shared_checkout:
                    prepare_repo.rename(work / "prepare.done")
                wall, shards = run_shards(repos, spec, count, args.jobs)
                for shard in shards:
                    if shard.code != 0:
                        sys.stderr.write(shard.err[-3000:])
                        raise SystemExit(f"shard {shard.index}/{count} failed with exit code {shard.code}")
                by_shard = counts(url, reset=True)
                shard_lists = [listings(by_shard.get(f"127.0.0.{i + 1}", Counter())) for i in range(1, count + 1)]
                shard_api = sum(api(r) for r in by_shard.values())
                finished = check(run([*LABELSYNC, "apply", str(spec), "--finish"], repos[0]), what=f"finish ({count} shards)")
                finish_lists = sum(listings(r) for r in counts(url, reset=True).values())
                emu_cpu = cpu_seconds(emulator.pid) - emu_cpu
                if not args.no_verify:
                    check(run([*LABELSYNC, "plan", "dataset.yaml", "--detailed-exitcode"], repos[0]), what=f"re-plan ({count} shards)")
                made = commits(url, f"shards{count}")
                lists = (prepare_lists, sum(shard_lists), max(shard_lists), finish_lists, shard_api)
                rows.append((count, prepared.wall, wall, finished.wall, sum(s.cpu for s in shards), emu_cpu, made, load_before, load(), lists))
                each = ", ".join(f"{s.wall:.2f}" for s in shards)
                print(f"  {count} shard(s): shard phase {wall:.2f} s (each: {each}), finish {finished.wall:.2f} s; listing requests: "
                      f"prepare {prepare_lists}, shards {shard_lists}, finish {finish_lists} (load {load()})", flush=True)
                if args.logs:
                    for shard in shards:
                        print(f"--- shard {shard.index}:\n{shard.err[-1500:]}")
        finally:
            emulator.terminate()
            emulator.wait(timeout=30)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    base = rows[0][2]
    print()
    existing = f" onto {args.existing} existing files" if args.existing else ""
    print(f"sharded apply of {args.files} x {args.size} B ({total_mb:.1f} MB){existing}, cap {args.cap} per address, --jobs {args.jobs} per shard")
    header = ("shards", "prepare s", "shards s", "files/s", "MB/s", f"x {shard_counts[0]} shard", "finish s", "shard CPU s", "emu CPU s",
              "lists: prepare", "lists: all shards", "lists: max shard", "lists: finish", "shard API req", "commits", "load before", "load after")
    print(" | ".join(header))
    for count, prepare_s, wall, finish_s, cpu, emu_cpu, made, before, after, lists in rows:
        print(" | ".join([
            str(count), f"{prepare_s:.2f}", f"{wall:.2f}", f"{args.files / wall:,.0f}", f"{total_mb / wall:.2f}",
            f"{base / wall:.2f}", f"{finish_s:.2f}", f"{cpu:.1f}", f"{emu_cpu:.1f}", *(str(n) for n in lists), str(made), before, after,
        ]))
    print("lists: item listing requests (data/details pages of 128) of each step; shard API req: all requests but uploads")
    if not args.no_verify:
        print("after every finish the re-plan found no changes")


if __name__ == "__main__":
    main()
