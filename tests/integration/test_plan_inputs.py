"""One ``labelsync plan`` reads each input once, and a proven no-op never touches the items.

In-process CLI runs (``labelsync.cli.main``) against the TensorBay emulator over loopback,
with every file open counted (``io.open``, which ``open`` and ``Path.read_*`` go through).
"""

from __future__ import annotations

import builtins
import io
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from labelsync.local.hashcache import HashCache
from tests.support.inproc import run
from tests.support.repo import TOKEN_ENV, box, write_repo
from tests.support.tensorbay import TOKEN, Remote

OLD_NS = 1_600_000_000_000_000_000


def _repo(tmp_path: Path, url: str) -> Path:
    files = {f"d{i % 2}/img{i}.jpg": bytes([i]) * 64 for i in range(6)}
    repo = write_repo(tmp_path / "repo", url, files, labels={"d0/img0.jpg": box()})
    for path in repo.rglob("*"):  # outside the racy window: the desired digest is remembered
        if path.is_file():
            os.utime(path, ns=(OLD_NS, OLD_NS))
    return repo


def _count_opens(monkeypatch: pytest.MonkeyPatch) -> Counter[Path]:
    """Count every ``open`` of a path (resolved) from now on."""
    opened: Counter[Path] = Counter()
    real: Callable[..., Any] = io.open

    def counting(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, os.PathLike)):
            opened[Path(os.fspath(file)).resolve()] += 1
        return real(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", counting)
    monkeypatch.setattr(builtins, "open", counting)
    return opened


def test_one_plan_reads_labelsync_yaml_the_manifest_and_each_label_file_once(
    tmp_path: Path, emulator: Remote, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, emulator.url)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.chdir(repo)
    code, text = run(["apply", ".", "--auto-approve"], capsys)
    assert code == 0, text
    (repo / "labels.jsonl").write_text('{"remotePath": "d1/img1.jpg", "label": {}}\n')  # a change: the full path
    opened = _count_opens(monkeypatch)
    code, text = run(["plan", ".", "--detailed-exitcode"], capsys)
    assert code == 2, text
    for name in ("labelsync.yaml", "dataset.yaml", "labels.jsonl"):
        assert opened[(repo / name).resolve()] == 1, (name, opened)


def test_a_proven_noop_plan_never_hashes_or_builds_the_items(
    tmp_path: Path, emulator: Remote, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _repo(tmp_path, emulator.url)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.chdir(repo)
    code, text = run(["apply", ".", "--auto-approve"], capsys)
    assert code == 0, text

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a proven no-op plan looked the files up in the hash cache")

    monkeypatch.setattr(HashCache, "digest_all", refuse)
    code, text = run(["plan", ".", "--detailed-exitcode"], capsys)
    assert code == 0, text
    assert "No changes" in text
    code, text = run(["plan", ".", "--format", "json"], capsys)
    assert code == 0 and '"noop_proven": true' in text, text
