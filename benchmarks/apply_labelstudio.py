"""Apply of N small images to a real Label Studio: labelsync vs Label Studio's own import API.

Usage::

    LABELSYNC_LABEL_STUDIO_BIN=/opt/ls-venv/bin/label-studio \\
        .venv/bin/python benchmarks/apply_labelstudio.py [--files 2000] [--jobs 8]

Starts one Label Studio (``tests/support/labelstudio.py``: its own data dir, a free loopback
port), generates ``--files`` small PNGs (40x30) with a box label each, then:

a. ``labelsync apply --auto-approve`` of a fresh repository (subprocess, end to end: hashing,
   plan, project, uploads in batches of 100 files, one import of tasks with predictions);
b. ``labelsync plan --detailed-exitcode`` of the same repository (a no-op: the recorded digest);
c. the naive loop a user writes with Label Studio's own import API: one
   ``POST /api/projects/{id}/import`` per file (multipart, which creates the task), then one
   ``POST /api/predictions/`` per task. ``--naive-seconds S`` stops it after S seconds and
   reports the files done, its rate and the time the whole loop would take at that rate.

Every image has distinct pixels (its index in the first four pixels), so no two files share
content and labelsync uploads all of them (checked before the run).

Prints the wall time and the requests of each (labelsync's requests are counted by its
client; the loop counts its own), and the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from labelsync.providers.labelstudio.png import read_indices  # noqa: E402
from tests.support import labelstudio as server  # noqa: E402
from tests.support.lsrepo import box, write_repo  # noqa: E402
from tests.support.repo import cli_env  # noqa: E402


def run_cli(args: list[str], cwd: Path, token: str) -> tuple[float, str]:
    import subprocess

    env = cli_env(token)
    env["LABELSYNC_LOG_LEVEL"] = "info"
    began = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "labelsync", *args], cwd=cwd, env=env, capture_output=True, text=True)
    took = time.monotonic() - began
    if proc.returncode not in (0, 2):
        raise SystemExit(f"labelsync {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return took, proc.stdout + proc.stderr


def distinct_image(index: int, width: int = 40, height: int = 30) -> bytes:
    """A small greyscale PNG whose pixels no other index gives (the index in the first four)."""
    from labelsync.providers.labelstudio.png import write_indices

    values = [(index * 7 + k) % 256 for k in range(width * height)]
    values[:4] = index.to_bytes(4, "big")
    return write_indices(width, height, values)


def naive_loop(
    url: str, token: str, files: dict[str, bytes], labels: dict[str, dict], limit: float = 0.0
) -> tuple[float, int, int]:
    """``(seconds, requests, files done)`` of the naive loop, stopped after ``limit`` s (0: never)."""
    from labelsync.providers.labelstudio.config import label_config
    from labelsync.providers.labelstudio.convert import to_results
    from tests.support.lsrepo import CATALOG

    headers = {"Authorization": f"Token {token}"}
    requests = done = 0
    began = time.monotonic()
    with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
        project = http.post("/api/projects", json={"title": "naive-loop", "label_config": label_config(CATALOG)}).json()
        requests += 1
        for name, content in files.items():
            answer = http.post(
                f"/api/projects/{project['id']}/import", params={"return_task_ids": "true"},
                files={"file": (name, content, "image/png")},
            )
            answer.raise_for_status()
            requests += 1
            task_id = answer.json()["task_ids"][0]
            result = to_results(labels[name], CATALOG, 40, 30)
            http.post("/api/predictions/", json={"task": task_id, "result": result, "model_version": "naive"}).raise_for_status()
            requests += 1
            done += 1
            if limit and time.monotonic() - began >= limit:
                break
    return time.monotonic() - began, requests, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--naive-seconds", type=float, default=0.0, help="stop the naive loop after this long (0: run it all)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    ls = server.start()
    print(f"label-studio up in {ls.start_seconds:.1f} s at {ls.url}")
    try:
        token = ls.legacy_token
        files = {f"img{i:05}.png": distinct_image(i) for i in range(args.files)}
        distinct = len({hashlib.sha1(c).hexdigest() for c in files.values()})
        pixels = len({tuple(read_indices(c)[2]) for c in files.values()})
        if distinct != len(files) or pixels != len(files):
            raise SystemExit(f"the generator repeats content: {distinct} distinct files, {pixels} distinct pixel grids")
        labels = {name: box("car" if i % 2 else "ped", 1 + i % 20) for i, name in enumerate(files)}
        with tempfile.TemporaryDirectory() as tmp:
            root = write_repo(Path(tmp) / "repo", ls.url, files, labels=labels, name="bench")
            applied, out = run_cli(["apply", "--auto-approve", "--jobs", str(args.jobs)], root, token)
            line = next((x for x in out.splitlines() if x.startswith("Applied")), "")
            noop, out = run_cli(["plan", "--detailed-exitcode"], root, token)
            proven = next((x for x in out.splitlines() if "proven unchanged" in x), "(no proof line)")
        naive, naive_requests, naive_done = naive_loop(ls.url, token, files, labels, args.naive_seconds)
    finally:
        ls.stop()
    load_after = os.getloadavg()
    size = sum(len(c) for c in files.values())
    print(json.dumps({"files": args.files, "bytes": size, "distinct_contents": distinct, "distinct_pixel_grids": pixels}))
    print(f"labelsync apply        {applied:7.2f} s   {line}")
    print(f"labelsync no-op plan   {noop:7.2f} s   {proven.split(': ', 1)[-1]}")
    rate = naive_done / naive if naive else 0.0
    whole = len(files) / rate if rate else float("inf")
    stopped = "" if naive_done == len(files) else f", stopped after {naive_done} of {len(files)} files"
    print(f"naive import loop      {naive:7.2f} s   {naive_requests} requests (one import + one prediction per file{stopped})")
    print(f"naive loop rate        {rate:7.2f} files/s; all {len(files)} files at that rate: {whole:.0f} s")
    print(f"ratio naive/labelsync  {whole / applied:7.2f}x (the whole loop, extrapolated when stopped)")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
