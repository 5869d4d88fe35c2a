"""Build small labelsync repositories in a temp dir and run the real CLI against them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

TOKEN_ENV = "LS_TEST_TOKEN"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def write_repo(
    root: Path,
    url: str,
    files: dict[str, bytes],
    *,
    labels: dict[str, dict] | None = None,
    name: str = "ds1",
    prune: bool = False,
    catalog: dict | None = None,
) -> Path:
    """A repository with labelsync.yaml (remote ``default`` -> ``url``) and one dataset manifest."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "labelsync.yaml").write_text(
        f"remotes:\n  default: {{provider: tensorbay, url: '{url}', tokenEnv: {TOKEN_ENV}}}\n"
    )
    data = root / "data"
    data.mkdir(exist_ok=True)
    for rel, content in files.items():
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_bytes(content)
    catalog = catalog if catalog is not None else {"BOX2D": {"categories": [{"name": "car"}, {"name": "bus"}]}}
    lines = [json.dumps({"remotePath": p, "label": lab}) for p, lab in sorted((labels or {}).items())]
    (root / "labels.jsonl").write_text("\n".join(lines) + ("\n" if lines else ""))
    manifest = {
        "apiVersion": "labelsync/v1",
        "kind": "Dataset",
        "metadata": {"name": name},
        "spec": {
            "remote": "default",
            "tensorbay": {"type": "normal"},
            "catalog": catalog,
            "segments": [{"name": "train", "data": {"path": "data"}, "labels": {"path": "labels.jsonl"}}],
            "prune": prune,
        },
    }
    (root / "dataset.yaml").write_text(json.dumps(manifest, indent=1))  # JSON is YAML
    return root


def box(category: str = "car", x: int = 1) -> dict:
    return {"BOX2D": [{"box2d": {"xmin": x, "ymin": 1, "xmax": x + 5, "ymax": 6}, "category": category}]}


def cli_env(token: str) -> dict[str, str]:
    """The environment of a CLI process under test: the user's LABELSYNC_*/GITHUB_* removed,
    the remote token in :data:`TOKEN_ENV`, CI mode (plain progress lines)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABELSYNC_", "GITHUB_"))}
    env.update({TOKEN_ENV: token, "CI": "true", "PYTHONUNBUFFERED": "1"})
    return env


def run_cli(args: list[str], cwd: Path, token: str, *, extra_env: dict[str, str] | None = None, timeout: float = 120) -> Result:
    """Run ``labelsync ARGS`` in a subprocess (a real process: real exit code, real stderr)."""
    env = cli_env(token)
    env.update(extra_env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "labelsync", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
