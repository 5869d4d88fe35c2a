"""``labelsync emulator tensorbay|deepen`` as a user starts them: no ``--token``, then the
printed environment, copied as is, is all a labelsync client needs to plan against them."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from labelsync.emulator.runtime import free_port
from tests.support.processes import gone

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _clean_env() -> dict[str, str]:
    drop = ("LABELSYNC_", "GITHUB_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    for name in ("TENSORBAY_ACCESS_KEY", "DEEPEN_API_TOKEN"):
        env.pop(name, None)
    env.update({"CI": "true", "PYTHONUNBUFFERED": "1"})
    return env


@pytest.fixture
def start(tmp_path: Path) -> Iterator[object]:
    processes: list[subprocess.Popen[str]] = []

    def run(kind: str) -> tuple[list[str], dict[str, str]]:
        port = free_port()
        command = [sys.executable, "-m", "labelsync", "emulator", kind, "--port", str(port), "--data-dir", str(tmp_path / kind)]
        proc = subprocess.Popen(command, cwd=tmp_path, env=_clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        processes.append(proc)
        assert proc.stdout is not None
        lines: list[str] = []
        exports: dict[str, str] = {}
        deadline = time.monotonic() + 30
        while not any(line.strip().startswith(("export TENSORBAY", "export DEEPEN")) for line in lines):
            line = proc.stdout.readline()
            assert line, f"emulator exited early: {proc.wait()} {proc.stderr.read() if proc.stderr else ''}"
            lines.append(line)
            assert time.monotonic() < deadline
        for line in lines:
            if line.strip().startswith("export "):
                name, _, value = line.strip().removeprefix("export ").partition("=")
                exports[name] = shlex.split(value)[0]
        url = next(v for k, v in exports.items() if k.endswith("_URL"))
        while True:  # wait until it listens
            try:
                httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        return lines, exports

    yield run
    for proc in processes:
        proc.terminate()
        proc.wait(timeout=10)


def _plan(example: str, tmp_path: Path, exports: dict[str, str]) -> subprocess.CompletedProcess[str]:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / example, repo)
    env = _clean_env() | exports
    return subprocess.run(
        [sys.executable, "-m", "labelsync", "plan", "."], cwd=repo, env=env, capture_output=True, text=True, timeout=120
    )


def test_deepen_without_token_starts_and_prints_the_client_environment(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, exports = start("deepen")
    assert set(exports) == {"LABELSYNC_REMOTE_DEEPEN_URL", "LABELSYNC_REMOTE_DEEPEN_CLIENT_ID", "DEEPEN_API_TOKEN"}
    assert exports["LABELSYNC_REMOTE_DEEPEN_URL"].endswith("/api/v2")
    planned = _plan("deepen-images", tmp_path, exports)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "to create" in planned.stdout


def test_tensorbay_prints_the_client_environment(start, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, exports = start("tensorbay")
    assert set(exports) == {"LABELSYNC_REMOTE_DEFAULT_URL", "TENSORBAY_ACCESS_KEY"}
    planned = _plan("quickstart", tmp_path, exports)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "to create" in planned.stdout


def test_a_given_token_is_never_printed() -> None:
    from labelsync.cli.emulator import client_environment
    from labelsync.providers.registry import PROVIDERS

    lines = client_environment("dp", "http://h/api/v2", PROVIDERS["deepen"], ("s3cret-token",), "local")
    assert not any("s3cret-token" in line for line in lines)
    assert lines[0] == "export LABELSYNC_REMOTE_DP_URL=http://h/api/v2"


def test_tensorbay_storage_workers_take_an_applys_uploads_and_stop_with_the_emulator(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "labelsync", "emulator", "tensorbay", "--port", str(port)]
    command += ["--data-dir", str(tmp_path / "tb"), "--storage-workers", "2"]
    proc = subprocess.Popen(command, cwd=tmp_path, env=_clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        exports: dict[str, str] = {}
        line = ""
        while "storage workers" not in line:
            line = proc.stdout.readline()
            assert line, f"emulator exited early: {proc.wait()} {proc.stderr.read() if proc.stderr else ''}"
            if line.strip().startswith("export "):
                name, _, value = line.strip().removeprefix("export ").partition("=")
                exports[name] = shlex.split(value)[0]
        pids = [int(p) for p in line.rsplit("pids ", 1)[1].rstrip(")\n").split(",")]
        repo = tmp_path / "repo"
        shutil.copytree(EXAMPLES / "quickstart", repo)
        applied = subprocess.run(
            [sys.executable, "-m", "labelsync", "apply", ".", "--auto-approve"],
            cwd=repo, env=_clean_env() | exports, capture_output=True, text=True, timeout=120,
        )
        assert applied.returncode == 0, applied.stdout + applied.stderr
        packs = {p.name.split("-", 1)[0] for p in (tmp_path / "tb" / "blobs" / "packs").glob("*.pack")}
        assert packs & {str(pid) for pid in pids} and str(proc.pid) not in packs, (packs, pids)  # stored by the workers
        proc.terminate()
        proc.wait(timeout=15)
        assert all(gone(pid) for pid in pids)
    finally:
        proc.kill()
        proc.wait()


def test_storage_workers_and_a_bandwidth_cap_are_refused_together(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "labelsync", "emulator", "tensorbay", "--port", str(free_port())]
    command += ["--data-dir", str(tmp_path / "tb"), "--storage-workers", "2", "--client-bandwidth", "1MB/s"]
    done = subprocess.run(command, cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "cannot be combined with --storage-workers" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "tb").exists()
