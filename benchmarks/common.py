"""Shared helpers of the sync benchmarks (apply_tensorbay.py, noop_plan.py, memory.py).

* A request-counting TensorBay emulator in a separate process (its own GIL): run as
  ``python benchmarks/common.py serve --port P --data-dir D --token T [--latency-ms MS]``
  it serves ``create_app(...)`` (with the same :class:`FaultConfig` knobs as
  ``labelsync emulator tensorbay``) through ``runtime.serve_forever``, wrapped in a
  counting ASGI middleware. ``GET /_bench/stats`` answers the counts (per ``METHOD route``,
  with dataset ids folded), the number of storage uploads, the peak of concurrent
  requests and the time of the first and last request; ``POST /_bench/reset`` zeroes them.
  Neither goes through the emulator nor its injected latency. ``--storage-workers N`` (N > 0)
  serves the upload route from N processes of their own (``StorageHost``, as
  ``labelsync emulator tensorbay --storage-workers N``); their uploads and CPU seconds are
  added to the stats (and zeroed by the reset). ``first_upload`` is the time of the first
  storage upload since the reset (0 when none).
* :func:`generate_files`: deterministic pseudo-random files in a temp dir.
* :func:`write_repo`: a labelsync repository (labelsync.yaml + one dataset manifest).
* :func:`run_labelsync`: the real CLI in a subprocess, with wall time and peak RSS
  (``os.wait4`` of that very child).

Importing this module compiles labelsync's bytecode once (:func:`compile_labelsync`), as
``pip install`` does for an installed package: an editable checkout run with
``PYTHONDONTWRITEBYTECODE=1`` (set on some machines, this one included) would otherwise
recompile every module on every CLI start, some 0.3 s that no installed user pays.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOKEN = "Accesskey-" + "b" * 32
TOKEN_ENV = "LS_BENCH_TOKEN"
API_PREFIX = "/gatewayv2/tensorbay-open-api/v1"
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LABELSYNC = [sys.executable, "-m", "labelsync"]


def compile_labelsync() -> None:
    """Write the ``__pycache__`` of the labelsync package (quietly; no-op when up to date)."""
    import compileall

    compileall.compile_dir(str(REPO / "labelsync"), quiet=1)


compile_labelsync()

# --------------------------------------------------------------------------- counting emulator

_ID = re.compile(r"/datasets/[^/]+")
_FILES = re.compile(r"^/files/.*")


def _route(method: str, path: str) -> str:
    if path.startswith(API_PREFIX):
        path = path[len(API_PREFIX):]
    path = _ID.sub("/datasets/*", path)
    path = _FILES.sub("/files/*", path)
    return f"{method} {path}"


class Counting:
    """ASGI middleware counting the HTTP requests that reach the wrapped app."""

    def __init__(self, app: Any, storage: Any = None) -> None:
        self.app = app
        self.storage = storage
        self.reset()

    def reset(self) -> None:
        if self.storage is not None:
            self.storage.reset()
        self.first_upload = 0.0
        self.routes: Counter[str] = Counter()
        self.in_flight = 0
        self.peak = 0
        self.first = 0.0
        self.last = 0.0

    def stats(self) -> dict[str, Any]:
        routes = Counter(self.routes)
        cpu, last, first_upload = time.process_time(), self.last, self.first_upload
        if self.storage is not None:
            rows = self.storage.stats()
            routes["POST /storage/upload"] += sum(row["uploads"] for row in rows)
            cpu += sum(row["cpu_s"] for row in rows)
            last = max([last, *(row["last"] for row in rows)])
            first_upload = min((row["first"] for row in rows if row["first"]), default=0.0)
        uploads = sum(n for r, n in routes.items() if r.startswith("POST /storage"))
        return {
            "total": sum(routes.values()),
            "uploads": uploads,
            "api": sum(routes.values()) - uploads,
            "peak_concurrency": self.peak,  # of the emulator process alone
            "cpu_s": cpu,
            "first": self.first,
            "last": last,
            "first_upload": first_upload,
            "storage_workers": len(self.storage.pids) if self.storage else 0,
            "routes": dict(sorted(routes.items(), key=lambda kv: -kv[1])),
        }

    async def _json(self, send: Any, obj: Any) -> None:
        body = json.dumps(obj).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path == "/_bench/stats":
            await self._json(send, self.stats())
            return
        if path == "/_bench/reset":
            self.reset()
            await self._json(send, {"ok": True})
            return
        now = time.time()
        self.first = self.first or now
        if path.startswith("/storage") and not self.first_upload:
            self.first_upload = now
        self.routes[_route(scope["method"], path)] += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self.last = time.time()


def _serve(argv: list[str]) -> None:
    from labelsync.emulator.runtime import FaultConfig, serve_forever
    from labelsync.emulator.tensorbay import create_app

    parser = argparse.ArgumentParser(prog="common.py serve")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--storage-workers", type=int, default=0)
    args = parser.parse_args(argv)
    faults = FaultConfig(latency_ms=args.latency_ms)
    if not args.storage_workers:
        app = create_app(args.data_dir, tokens=[args.token], faults=faults)
        serve_forever(Counting(app), host="127.0.0.1", port=args.port)
        return
    from labelsync.emulator.tensorbay import StorageHost

    with StorageHost(args.data_dir, args.storage_workers, faults=faults) as storage:
        app = create_app(args.data_dir, tokens=[args.token], faults=faults, storage_port=storage.port)
        serve_forever(Counting(app, storage), host="127.0.0.1", port=args.port)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Emulator:
    url: str
    process: subprocess.Popen[bytes]

    def _call(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stats(self) -> dict[str, Any]:
        return dict(self._call("/_bench/stats"))

    def reset(self) -> None:
        self._call("/_bench/reset", "POST")
        self._cpu0 = self.stats()["cpu_s"]

    def measure(self) -> dict[str, Any]:
        """The counts since :meth:`reset`, with ``cpu`` (emulator CPU seconds) and ``span``."""
        stats = self.stats()
        stats["cpu"] = stats["cpu_s"] - getattr(self, "_cpu0", 0.0)
        stats["span"] = stats["last"] - stats["first"]
        return stats


@contextmanager
def emulator(data_dir: Path, *, latency_ms: float = 0.0, storage_workers: int = 0) -> Iterator[Emulator]:
    """A counting TensorBay emulator in a child process (uploads served by
    ``storage_workers`` processes of their own when > 0); yields once it answers."""
    port = _free_port()
    command = [sys.executable, str(HERE / "common.py"), "serve", "--port", str(port)]
    command += ["--data-dir", str(data_dir), "--token", TOKEN, "--latency-ms", str(latency_ms)]
    command += ["--storage-workers", str(storage_workers)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    emu = Emulator(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                emu.stats()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the emulator did not start") from None
                time.sleep(0.1)
        yield emu
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --------------------------------------------------------------------------- data and repos

OLD_NS = 1_600_000_000_000_000_000
"""mtime given to generated files: well past any racy-clean window of the hash cache."""


def generate_files(data_dir: Path, count: int, size: int, *, per_dir: int = 0, seed: int = 0) -> list[Path]:
    """``count`` files of ``size`` deterministic random bytes (distinct contents).

    ``per_dir`` > 0 spreads them over sub-directories of that many files each.
    """
    rng = random.Random(seed)
    paths = []
    data_dir.mkdir(parents=True, exist_ok=True)
    made: set[Path] = set()
    for i in range(count):
        d = data_dir / f"d{i // per_dir:04}" if per_dir else data_dir
        if d not in made:
            d.mkdir(parents=True, exist_ok=True)
            made.add(d)
        p = d / f"{i:07}.bin"
        # 16 bytes of index keep contents distinct whatever the size.
        p.write_bytes((f"{i:016}".encode() + rng.randbytes(max(0, size - 16)))[:size])
        os.utime(p, ns=(OLD_NS, OLD_NS))
        paths.append(p)
    return paths


def write_repo(root: Path, url: str, name: str, data_rel: str = "data") -> Path:
    """labelsync.yaml (remote ``default`` -> ``url``) and a one-segment dataset manifest."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "labelsync.yaml").write_text(
        f"remotes:\n  default: {{provider: tensorbay, url: '{url}', tokenEnv: {TOKEN_ENV}}}\n"
    )
    (root / "labels.jsonl").write_text("")
    manifest = {
        "apiVersion": "labelsync/v1",
        "kind": "Dataset",
        "metadata": {"name": name},
        "spec": {
            "remote": "default",
            "tensorbay": {"type": "normal"},
            "segments": [{"name": "train", "data": {"path": data_rel}, "labels": {"path": "labels.jsonl"}}],
        },
    }
    (root / "dataset.yaml").write_text(json.dumps(manifest, indent=1))  # JSON is YAML
    return root


@dataclass
class Run:
    code: int
    wall: float
    max_rss_mb: float
    cpu_s: float
    out: str
    err: str


def run(command: list[str], cwd: Path, *, env: dict[str, str] | None = None) -> Run:
    """Run ``command``; wall time and the peak RSS of that child (``os.wait4``)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("LABELSYNC_", "GITHUB_"))}
    full_env.update({TOKEN_ENV: TOKEN, "CI": "true", "PYTHONUNBUFFERED": "1"})
    full_env.update(env or {})
    out_path, err_path = cwd / ".bench-stdout", cwd / ".bench-stderr"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=full_env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    result = Run(
        process.returncode,
        wall,
        usage.ru_maxrss / 1024,  # KiB on Linux
        usage.ru_utime + usage.ru_stime,
        out_path.read_text(errors="replace"),
        err_path.read_text(errors="replace"),
    )
    out_path.unlink()
    err_path.unlink()
    return result


def run_labelsync(args: list[str], cwd: Path) -> Run:
    return run([*LABELSYNC, *args], cwd)


def check(result: Run, ok: tuple[int, ...] = (0,), what: str = "command") -> Run:
    if result.code not in ok:
        sys.stderr.write(result.out[-3000:] + result.err[-3000:])
        raise SystemExit(f"{what} failed with exit code {result.code}")
    return result


def fmt_routes(stats: dict[str, Any], top: int = 8) -> str:
    return ", ".join(f"{r}: {n}" for r, n in list(stats["routes"].items())[:top])


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        _serve(sys.argv[2:])
    else:
        raise SystemExit("usage: python benchmarks/common.py serve --port P --data-dir D --token T [--latency-ms MS] [--storage-workers N]")
