"""Both pre-sends (engine/overlap.py, engine/presend.py) hand blobs to the store a bounded
batch at a time: with a batch of 61, over loopback against the TensorBay emulator, in a real
process, each blob is still sent once and the end state is the plain apply's."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import create_app
from tests.integration.test_presend import Counting
from tests.support.repo import Result, cli_env, write_repo
from tests.support.tensorbay import TOKEN, Remote

SMALL_BATCH = (
    "import sys; import labelsync.engine.presend as p, labelsync.engine.overlap as o; p.BATCH = o.BATCH = 61; "
    "sys.argv[0] = 'labelsync'; from labelsync.cli import main; main()"
)


def run_small(args: list[str], cwd: Path) -> Result:
    proc = subprocess.run([sys.executable, "-c", SMALL_BATCH, *args], cwd=cwd, env=cli_env(TOKEN), capture_output=True, text=True, timeout=120)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def content(i: int) -> bytes:
    return hashlib.sha256(str(i).encode()).digest() * 512  # 16 KiB: enough to hash that the overlap engages


def test_small_batches_send_each_blob_once_both_ways(tmp_path: Path) -> None:
    app = Counting(create_app(tmp_path / "emulator-state", tokens=[TOKEN]))
    with EmbeddedServer(app) as srv:
        files = {f"f{i:04d}.jpg": content(i) for i in range(3000)}
        files["copy.jpg"] = content(3)
        repo = write_repo(tmp_path / "repo", srv.url, files)
        first = run_small(["apply", ".", "--auto-approve"], repo)  # the overlap
        assert first.code == 0, first.text
        assert app.routes.get("GET datasets/*/policies (dataset)") == 1, app.routes  # the overlap ran
        assert app.routes.get("POST storage/upload") == 3000, app.routes
        assert "3001 file(s) written, 3000 file(s)" in first.out, first.out
        for i in range(3000, 3200):
            (repo / "data" / f"g{i:04d}.jpg").write_bytes(content(i))
        (repo / "data" / "copy2.jpg").write_bytes(content(3100))
        saved = run_small(["plan", ".", "-o", str(tmp_path / "plan.json")], repo)
        assert saved.code in (0, 2), saved.text
        app.routes.clear()
        second = run_small(["apply", str(tmp_path / "plan.json")], repo)  # the saved plan's pre-send
        assert second.code == 0, second.text
        assert app.routes.get("POST storage/upload") == 200, app.routes
        assert "201 file(s) written, 200 file(s)" in second.out, second.out
        items = Remote(srv.url).items("ds1")
        assert len(items) == 3202 and items["copy2.jpg"]["checksum"] == hashlib.sha1(content(3100)).hexdigest()
        again = run_small(["plan", ".", "--detailed-exitcode"], repo)
        assert again.code == 0 and "No changes" in again.out, again.text
