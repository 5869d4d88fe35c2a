"""The Actions workflow's own commands, run job by job as separate "runners" against the emulator.

Each runner is its own checkout (the prepare's checkout is gone before the shards run, as on
GitHub); artifacts are directories copied between them, the way upload-artifact and
download-artifact (``merge-multiple``) hand them on. Exactly one commit results and the
re-plan is a no-op.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import create_app
from tests.support.repo import cli_env, run_cli, write_repo
from tests.support.tensorbay import TOKEN, Remote

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "sharding" / "github-actions.yml"
SHARDS = 2


def _run_steps(job: dict[str, Any], cwd: Path, env: dict[str, str], matrix: int | None = None) -> str:
    """Run the job's ``labelsync`` steps with bash, expressions filled in as Actions would; their output."""
    out = ""
    for step in job["steps"]:
        script = str(step.get("run", ""))
        if not script.startswith("labelsync "):
            continue
        script = script.replace("${{ matrix.shard }}", str(matrix))
        assert "${{" not in script, script
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        out += done.stdout + done.stderr
    return out


def _uploaded(job: dict[str, Any]) -> list[str]:
    """The paths the job's upload-artifact step lists."""
    (step,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    return str(step["with"]["path"]).split()


def _labelsync_on_path(bin_dir: Path) -> str:
    """A PATH whose ``labelsync`` is this interpreter's labelsync (what ``pip install`` gives the runner)."""
    bin_dir.mkdir()
    shim = bin_dir / "labelsync"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m labelsync "$@"\n')
    shim.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"


def _runner(template: Path, where: Path) -> Path:
    shutil.copytree(template, where, ignore=shutil.ignore_patterns(".labelsync"))
    return where


def test_the_workflow_jobs_hand_on_their_artifacts_and_commit_once(tmp_path: Path) -> None:
    jobs = YAML(typ="safe").load(WORKFLOW.read_text())["jobs"]
    files = {f"img{i:02d}.bin": hashlib.sha256(str(i).encode()).digest() * 16 for i in range(24)}
    with EmbeddedServer(create_app(tmp_path / "tb", tokens=[TOKEN])) as server:
        remote = Remote(server.url)
        source = write_repo(tmp_path / "source", server.url, files)  # what actions/checkout gives every job
        env = {**cli_env(TOKEN), "SHARDS": str(SHARDS), "MAX_RPS": "50", "PATHS": ".", "PATH": _labelsync_on_path(tmp_path / "bin")}
        artifacts = tmp_path / "artifacts"

        prepare = _runner(source, tmp_path / "work")  # every runner checks out at the same path
        _run_steps(jobs["prepare"], prepare, env)
        (artifacts / "labelsync-shards").mkdir(parents=True)
        for name in _uploaded(jobs["prepare"]):  # what upload-artifact takes
            shutil.copy(prepare / name, artifacts / "labelsync-shards")
        shutil.rmtree(prepare)

        for shard in range(1, SHARDS + 1):
            runner = _runner(source, tmp_path / "work")
            shutil.copytree(artifacts / "labelsync-shards", runner, dirs_exist_ok=True)
            out = _run_steps(jobs["shard"], runner, env, matrix=shard)
            assert "lists the remote instead" not in out, out  # its share of the remote came with shards.json
            shutil.copytree(runner / "shard-reports", artifacts / f"labelsync-shard-report-{shard}")
            shutil.rmtree(runner)

        finish = _runner(source, tmp_path / "work")
        shutil.copytree(artifacts / "labelsync-shards", finish, dirs_exist_ok=True)
        for report in sorted(artifacts.glob("labelsync-shard-report-*")):  # merge-multiple: true
            shutil.copytree(report, finish / "shard-reports", dirs_exist_ok=True)
        _run_steps(jobs["finish"], finish, env)

        assert len(remote.commits("ds1")) == 1
        assert sorted(remote.items("ds1", "train")) == sorted(files)
        again = run_cli(["plan", ".", "--detailed-exitcode"], finish, TOKEN)
        assert again.code == 0, again.text
        remote.http.close()
