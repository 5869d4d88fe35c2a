"""Peak memory (RSS) of a client meeting a server that answers far too much (issue 11 item 7).

Usage::

    .venv/bin/python benchmarks/answer_limits.py [--size-mb 256]

A hostile loopback server (``tests/support/hostile_server.py``, in this process) answers
every request with ``--size-mb`` MiB. Each case runs in a child process (``--child CASE
URL``), whose peak RSS is ``ru_maxrss`` from ``os.wait4``; the baseline is a child that only
imports the same modules. Cases:

* ``json-declared``: ``request_json`` GET, the size declared by ``Content-Length``;
* ``json-undeclared``: the same ended by closing the connection (read up to the 64 MiB cap);
* ``json-chunked``: the same in chunks;
* ``upload-pool``: an upload through the upload engine (:class:`PostPool`), undeclared size;
* ``upload-injected``: the same through an injected ``httpx.HTTPTransport``.

Each must end in the one-line cap error. Targets: the JSON cases under baseline + 2x the
cap (64 MiB, ``LABELSYNC_MAX_ANSWER_MB``), the upload cases under baseline + 16 MiB (their
cap is 1 MiB). Before the caps (issue 11), 256 MiB took a JSON read to 566-767 MiB and an
upload answer to 2,091 MiB.
"""

from __future__ import annotations

import argparse
import os
import queue
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CASES = {
    "json-declared": "huge",
    "json-undeclared": "huge_undeclared",
    "json-chunked": "huge_chunked",
    "upload-pool": "huge_undeclared",
    "upload-injected": "huge_undeclared",
}


def child(case: str, url: str) -> None:
    from labelsync import errors
    from labelsync.providers.answers import request_json
    from labelsync.providers.http import RetryPolicy, make_client
    from labelsync.providers.post_pool import Post, PostPool

    if case == "baseline":
        return
    if case.startswith("json"):
        with make_client(url, headers={}) as client:
            try:
                request_json(client, "GET", "/v1/datasets", what="list datasets")
            except errors.LabelsyncError as exc:
                print(f"    error: {exc}")
        return
    import httpx

    transport = httpx.HTTPTransport() if case == "upload-injected" else None
    pool = PostPool(connections=1, policy=RetryPolicy(max_retries=0), transport=transport)
    results: queue.SimpleQueue[BaseException | None] = queue.SimpleQueue()
    post = Post(f"{url}/storage/upload", {"Content-Type": "application/octet-stream"}, b"x" * 1000, what="upload")
    pool.run([0], lambda _: post, lambda _, error: results.put(error)).wait(timeout=120)
    pool.close()
    print(f"    error: {results.get()}")


def measure(case: str, url: str) -> float:
    env = {**os.environ, "LABELSYNC_HTTP_RETRIES": "0", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, __file__, "--child", case, url], env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--child", nargs=2, metavar=("CASE", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    from tests.support.hostile_server import HostileServer

    with HostileServer("huge") as idle:
        base = measure("baseline", idle.url)
    print(f"{'baseline (imports only)':<26} peak RSS {base:6.0f} MB")
    for case, mode in CASES.items():
        with HostileServer(mode, size=args.size_mb << 20) as server:
            rss = measure(case, server.url)
        limit = base + (128 if case.startswith("json") else 16)
        verdict = "ok" if rss <= limit else f"OVER (target {limit:.0f} MB)"
        print(f"{case:<26} peak RSS {rss:6.0f} MB   +{rss - base:5.0f} MB   {verdict}")


if __name__ == "__main__":
    main()
