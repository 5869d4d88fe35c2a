"""A real apply over loopback with a window far smaller than the plan: every file lands once,
with its content, in one commit (the engine's window, labelsync/engine/apply.py WINDOW)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from tests.support.repo import cli_env, write_repo
from tests.support.tensorbay import TOKEN, Remote


def test_an_emulator_apply_with_a_small_window(tmp_path: Path, emulator: Remote) -> None:
    files = {f"d{i // 10}/f{i:03}.jpg": f"content {i % 13}".encode() * 20 for i in range(45)}
    repo = write_repo(tmp_path / "repo", emulator.url, files)
    script = "import sys; from labelsync.engine import apply; apply.WINDOW = 4; from labelsync.cli import main; sys.argv[0] = 'labelsync'; main()"
    proc = subprocess.run([sys.executable, "-c", script, "apply", ".", "--auto-approve"], cwd=repo, env=cli_env(TOKEN), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "45 file(s) written, 13 file(s)" in proc.stdout
    items = emulator.items("ds1")
    assert sorted(items) == sorted(files)
    assert all(items[p]["checksum"] == hashlib.sha1(data).hexdigest() for p, data in files.items())
    assert len(emulator.commits("ds1")) == 1
