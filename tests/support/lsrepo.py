"""Small labelsync repositories aimed at a real Label Studio server, and a user's view of it."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from labelsync.providers.labelstudio.png import write_indices
from tests.support.repo import TOKEN_ENV, Result, run_cli

CATALOG = {"BOX2D": {"categories": [{"name": "car"}, {"name": "ped"}]}}


def image(seed: int, width: int = 40, height: int = 30) -> bytes:
    """A small greyscale PNG whose header says ``width`` x ``height``; ``seed`` varies the bytes."""
    return write_indices(width, height, [(seed * 7 + i) % 256 for i in range(width * height)])


def box(category: str = "car", x: int = 2) -> dict:
    return {"BOX2D": [{"box2d": {"xmin": x, "ymin": 3, "xmax": x + 10, "ymax": 13}, "category": category}]}


def unique_name(prefix: str = "ds") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def write_repo(
    root: Path,
    url: str,
    files: dict[str, bytes],
    *,
    labels: dict[str, dict] | None = None,
    name: str = "ds1",
    prune: bool = False,
    catalog: dict | None = None,
    block: dict | None = None,
) -> Path:
    """A repository with labelsync.yaml (remote ``ls`` -> ``url``) and one dataset manifest."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "labelsync.yaml").write_text(f"remotes:\n  ls: {{provider: labelstudio, url: '{url}', tokenEnv: {TOKEN_ENV}}}\n")
    data = root / "data"
    data.mkdir(exist_ok=True)
    for old in data.iterdir():
        if old.name not in files:
            old.unlink()
    for rel, content in files.items():
        (data / rel).write_bytes(content)
    lines = [json.dumps({"remotePath": p, "label": lab}) for p, lab in sorted((labels or {}).items())]
    (root / "labels.jsonl").write_text("\n".join(lines) + ("\n" if lines else ""))
    spec: dict = {
        "remote": "ls",
        "catalog": catalog if catalog is not None else CATALOG,
        "segments": [{"name": "train", "data": {"path": "data"}, "labels": {"path": "labels.jsonl"}}],
        "prune": prune,
    }
    if block is not None:
        spec["labelstudio"] = block
    manifest = {"apiVersion": "labelsync/v1", "kind": "Dataset", "metadata": {"name": name}, "spec": spec}
    (root / "dataset.yaml").write_text(json.dumps(manifest, indent=1))
    return root


def cli(args: list[str], root: Path, token: str) -> Result:
    return run_cli(args, root, token)
