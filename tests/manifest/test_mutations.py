"""Randomly damaged manifests and label files never make validation raise (fixed seed)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from labelsync.manifest.validate import run

from .conftest import REPO

ALPHABET = b" :-[]{}\"'&*!#\n\t0aZ\xff,"


def test_damaged_inputs_give_diagnostics_not_exceptions(tmp_path: Path) -> None:
    for name in ("quickstart", "fusion"):
        shutil.copytree(REPO / "examples" / name, tmp_path / name)
    (tmp_path / "labelsync.yaml").write_text("remotes: {}\n")
    targets = [
        tmp_path / "quickstart" / "dataset.yaml",
        tmp_path / "quickstart" / "labels.jsonl",
        tmp_path / "fusion" / "dataset.yaml",
        tmp_path / "fusion" / "labels" / "day.jsonl",
    ]
    original = {p: p.read_bytes() for p in targets}
    rng = random.Random(20260101)
    for _ in range(60):
        path = rng.choice(targets)
        data = bytearray(original[path])
        for _ in range(rng.randint(1, 4)):
            k = rng.randrange(len(data))
            op = rng.random()
            if op < 0.4:
                data[k] = rng.choice(ALPHABET)
            elif op < 0.7:
                del data[k : k + rng.randint(1, 20)]
            else:
                data[k:k] = data[rng.randrange(len(data)) :][: rng.randint(1, 30)]
        path.write_bytes(bytes(data))
        result = run([tmp_path])  # must not raise
        for d in result.diagnostics:
            assert d.file and d.message and "\n" not in d.message
        path.write_bytes(original[path])
