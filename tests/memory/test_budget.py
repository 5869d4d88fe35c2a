"""Memory per file on the plan's hot path (issue 15 item 2), measured with tracemalloc.

Budgets are per file and include each file's path string (about 60 bytes here); the
per-file objects they replace (a tuple per scanned file, a dict entry, an Item, a Blob and
a hex string per desired or live file) cost 300 to 700 bytes each.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from labelsync.desired import resolve_desired
from labelsync.local.hashcache import HashCache
from labelsync.local.scan import scan_dir
from labelsync.manifest.model import Manifest
from labelsync.manifest.remotes import BUILTIN_REMOTES
from labelsync.manifest.validate import LoadedManifest, ManifestSet
from labelsync.plan.differ import build_dataset_plan
from labelsync.providers.tensorbay.convert import live_items
from labelsync.state import Dataset, Live, Segment

N = 3000
OLD = 1_600_000_000_000_000_000


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("budget") / "repo"
    for i in range(N):
        p = root / "data" / f"d{i // 500:03}" / f"file-{i:06}.bin"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(f"{i:016}".encode())
        os.utime(p, ns=(OLD, OLD))
    return root


def retained(build: Callable[[], Any]) -> tuple[Any, float]:
    """``(result, bytes retained per file)`` of ``build()``."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        out = build()
        gc.collect()
        return out, (tracemalloc.get_traced_memory()[0] - before) / N
    finally:
        tracemalloc.stop()


def manifest() -> Manifest:
    spec = {"remote": "default", "segments": [{"name": "s", "data": {"path": "data"}}]}
    return Manifest.model_validate({"apiVersion": "labelsync/v1", "kind": "Dataset", "metadata": {"name": "b"}, "spec": spec})


def desired_of(repo: Path) -> Any:
    with HashCache(repo) as cache:
        remote = BUILTIN_REMOTES["default"]
        loaded = LoadedManifest(manifest(), repo / "dataset.yaml", "dataset.yaml", 1, 0, remote)
        [want] = resolve_desired(ManifestSet(repo, {remote.name: remote}, [loaded]), cache=cache)
    return want


def test_a_scan_holds_columns_not_a_tuple_per_file(repo: Path) -> None:
    files, per_file = retained(lambda: scan_dir(repo, repo / "data"))
    assert len(files) == N
    assert per_file < 150, f"{per_file:.0f} bytes per scanned file"


def test_the_desired_state_holds_columns_not_items(repo: Path) -> None:
    desired_of(repo)  # the hash cache is warm from here on
    want, per_file = retained(lambda: desired_of(repo))
    assert len(want.dataset.segments["s"].items) == N
    assert per_file < 200, f"{per_file:.0f} bytes per desired file"


def test_the_live_listing_is_read_into_columns() -> None:
    def pages() -> Any:  # a paged listing, as the client streams it: each entry fresh from JSON
        for i in range(N):
            yield json.loads(json.dumps({"remotePath": f"d{i // 500:03}/file-{i:06}.bin",
                                         "checksum": hashlib.sha1(str(i).encode()).hexdigest(), "fileSize": 16, "label": {}}))

    (items, verified), per_file = retained(lambda: live_items(pages(), fusion=False))
    assert verified and len(items) == N
    assert per_file < 160, f"{per_file:.0f} bytes per live file"


def test_diffing_unchanged_files_builds_nothing_per_file(repo: Path) -> None:
    want = desired_of(repo)
    items = want.dataset.segments["s"].items
    entries = [{"remotePath": p, "checksum": items[p].blob.checksum, "fileSize": items[p].blob.size} for p in items]
    table, _ = live_items(entries, fusion=False)
    ds = want.dataset
    live = Live(dataset=Dataset(ds.name, "tensorbay", ds.kind, ds.remote, ds.branch, ds.settings, ds.notes, ds.catalog,
                                {"s": Segment("s", items=table)}), head="c1")
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        plan = build_dataset_plan(want, live)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert plan.changes == ()
    assert peak / N < 40, f"{peak / N:.0f} bytes per unchanged file at the peak of the diff"
