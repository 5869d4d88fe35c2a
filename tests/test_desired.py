"""resolve_desired: manifests + local files -> desired state (real files in tmp_path)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from labelsync.desired import resolve_desired
from labelsync.errors import LocalDataError
from labelsync.local.frames import decode_ulid_ms, frame_id
from labelsync.local.hashcache import HashCache
from labelsync.manifest.model import Manifest
from labelsync.manifest.remotes import BUILTIN_REMOTES, Remote
from labelsync.manifest.validate import LoadedManifest, ManifestSet
from labelsync.state import Blob, MaskFile, Policy, dataset_digest


def sha(data: bytes) -> Blob:
    return Blob(hashlib.sha1(data).hexdigest(), len(data))


def write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def manifest(spec: dict[str, Any], name: str = "city") -> Manifest:
    return Manifest.model_validate({"apiVersion": "labelsync/v1", "kind": "Dataset", "metadata": {"name": name}, "spec": spec})


CATALOG = {
    "BOX2D": {"categories": [{"name": "car"}]},
    "SEMANTIC_MASK": {"categories": [{"name": "bg", "categoryId": 0}]},
}


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    write(root / "data" / "day" / "a.jpg", b"image a")
    write(root / "data" / "day" / "sub" / "b.jpg", b"image b")
    write(root / "data" / "day" / "notes.txt", b"not data")
    write(root / "labels" / "masks" / "a.png", b"mask a")
    lines = [
        {"remotePath": "a.jpg", "timestamp": 12.5, "label": {
            "BOX2D": [{"box2d": {"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4}, "category": "car"}],
            "SEMANTIC_MASK": {"path": "masks/a.png", "info": [{"categoryId": 0}]}}},
    ]
    write(root / "labels" / "day.jsonl", "".join(json.dumps(x) + "\n" for x in lines))
    (root / "manifests").mkdir()
    return root


def normal_spec(**extra: Any) -> dict[str, Any]:
    return {
        "catalog": CATALOG,
        "tensorbay": {"alias": "City", "notes": {"isContinuous": True}},
        "prune": True,
        "segments": [{"name": "day", "description": "Day", "data": {"path": "../data/day", "include": ["**/*.jpg"]},
                      "labels": {"path": "../labels/day.jsonl"}}],
        **extra,
    }


def resolve(root: Path, m: Manifest, *, provider: str | None = None, **kw: Any) -> Any:
    """resolve_desired of ``m`` as declared in ``manifests/city.yaml`` (its remote: the
    built-in one, or a local remote of ``provider``)."""
    remote = BUILTIN_REMOTES[m.spec.remote] if provider is None else Remote(m.spec.remote, provider)
    file = root / "manifests" / "city.yaml"
    loaded = LoadedManifest(m, file, str(file), 1, 0, remote)
    with HashCache(root) as cache:
        return resolve_desired(ManifestSet(root, {remote.name: remote}, [loaded]), cache=cache, **kw)


def test_normal_dataset(repo: Path) -> None:
    [d] = resolve(repo, manifest(normal_spec()))
    ds = d.dataset
    assert (ds.name, ds.provider, ds.kind, ds.branch, ds.remote) == ("city", "tensorbay", "normal", "main", "default")
    assert ds.settings == {"alias": "City"}
    assert ds.notes == {"isContinuous": True, "binPointCloudFields": None}
    assert ds.catalog == CATALOG
    assert d.policy == Policy(prune=True, allow_replace=False, protect=False)
    assert d.digest == dataset_digest(ds, prune=True)
    assert d.manifest.endswith("city.yaml:1")
    seg = ds.segments["day"]
    assert seg.description == "Day"
    assert sorted(seg.items) == ["a.jpg", "sub/b.jpg"]
    a = seg.items["a.jpg"]
    assert a.blob == sha(b"image a")
    assert a.source == str(repo / "data" / "day" / "a.jpg")
    assert a.timestamp == 12.5
    assert a.label == {
        "BOX2D": [{"box2d": {"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4}, "category": "car"}],
        "SEMANTIC_MASK": {"checksum": sha(b"mask a").checksum, "fileSize": 6, "info": [{"categoryId": 0}]},
    }
    assert a.masks == {"SEMANTIC_MASK": MaskFile(sha(b"mask a"), str(repo / "labels" / "masks" / "a.png"))}
    b = seg.items["sub/b.jpg"]
    assert (b.label, b.timestamp, b.frame_id, b.masks) == ({}, None, None, {})


def test_digest_is_stable_and_tracks_content(repo: Path) -> None:
    m = manifest(normal_spec())
    first = resolve(repo, m)[0].digest
    assert resolve(repo, m)[0].digest == first
    write(repo / "labels" / "masks" / "a.png", b"mask A")  # a mask's bytes changed
    assert resolve(repo, m)[0].digest != first


def test_deepen_dataset_settings(repo: Path) -> None:
    spec = normal_spec(deepen={"datasetType": "images", "labellingMode": "label_by_label", "tags": ["t"],
                               "pipeline": [{"stage": "Labelling", "canEdit": True}]})
    del spec["tensorbay"]
    [d] = resolve(repo, manifest(spec), provider="deepen")
    assert (d.dataset.provider, d.dataset.kind) == ("deepen", "images")
    assert d.dataset.settings == {
        "dataset_type": "images", "labelling_mode": "label_by_label", "tags": ["t"],
        "pipeline": [{"stage_id": "Labelling", "can_edit": True}],
    }
    assert d.dataset.notes == {}


def test_fusion_dataset(repo: Path) -> None:
    for frame in ("0001", "0002"):
        write(repo / "fusion" / "cam" / f"{frame}.jpg", f"cam {frame}")
        write(repo / "fusion" / "lidar" / f"{frame}.pcd", f"lidar {frame}")
    write(repo / "fusion" / "ts.json", '{"0001": 1700000000.0, "0002": 1700000000.1}')
    write(repo / "labels" / "fusion.jsonl", json.dumps({"remotePath": "lidar/0002.pcd", "label": {}, "timestamp": 5}) + "\n")
    spec = {
        "tensorbay": {"type": "fusion"},
        "segments": [{
            "name": "day",
            "sensors": [{"name": "cam", "type": "CAMERA"}, {"name": "lidar", "type": "LIDAR"}],
            "data": {"path": "../fusion", "include": ["cam/**", "lidar/**"]},
            "frames": {"timestamps": "../fusion/ts.json"},
            "labels": {"path": "../labels/fusion.jsonl"},
        }],
    }
    [d] = resolve(repo, manifest(spec))
    seg = d.dataset.segments["day"]
    assert d.dataset.kind == "fusion"
    assert seg.sensors == {"cam": {"name": "cam", "type": "CAMERA"}, "lidar": {"name": "lidar", "type": "LIDAR"}}
    assert sorted(seg.items) == ["cam/0001.jpg", "cam/0002.jpg", "lidar/0001.pcd", "lidar/0002.pcd"]
    cam1, lidar1 = seg.items["cam/0001.jpg"], seg.items["lidar/0001.pcd"]
    assert cam1.frame_id == lidar1.frame_id == frame_id("day", "0001", 1700000000.0)
    assert (cam1.sensor_name, lidar1.sensor_name) == ("cam", "lidar")
    assert cam1.timestamp == 1700000000.0
    assert seg.items["lidar/0002.pcd"].timestamp == 5  # the label line's own timestamp wins
    assert decode_ulid_ms(seg.items["cam/0002.jpg"].frame_id or "") == 1700000000100
    # same input, same IDs and digest on another run
    assert resolve(repo, manifest(spec))[0].digest == d.digest


def test_fusion_frame_missing_a_sensor_is_an_error(repo: Path) -> None:
    write(repo / "fusion" / "cam" / "0001.jpg", "c")
    spec = {"tensorbay": {"type": "fusion"}, "segments": [{"name": "day", "sensors": [{"name": "cam", "type": "CAMERA"}, {"name": "lidar", "type": "LIDAR"}],
                                             "data": {"path": "../fusion"}}]}
    with pytest.raises(LocalDataError, match="frame '0001' has no file for sensor 'lidar'"):
        resolve(repo, manifest(spec))


def test_label_for_unknown_file_is_an_error(repo: Path) -> None:
    spec = normal_spec()
    spec["segments"][0]["data"]["include"] = ["sub/*.jpg"]
    with pytest.raises(LocalDataError, match=r"day.jsonl:1: no data file 'a.jpg' in the data directory"):
        resolve(repo, manifest(spec))


def test_data_path_escaping_the_repository_is_an_error(repo: Path, tmp_path: Path) -> None:
    write(tmp_path / "elsewhere" / "x.jpg", "x")
    spec = normal_spec()
    spec["segments"][0]["data"]["path"] = "../../elsewhere"
    spec["segments"][0].pop("labels")
    with pytest.raises(LocalDataError, match="climbs out of the repository"):
        resolve(repo, manifest(spec))
    os.symlink(tmp_path / "elsewhere", repo / "data" / "link")
    spec["segments"][0]["data"]["path"] = "../data/link"
    with pytest.raises(LocalDataError, match="symlink"):
        resolve(repo, manifest(spec))


def test_mask_outside_the_repository_is_an_error(repo: Path, tmp_path: Path) -> None:
    write(tmp_path / "m.png", "m")
    write(repo / "labels" / "day.jsonl", json.dumps({"remotePath": "a.jpg", "label": {"SEMANTIC_MASK": {"path": "../../m.png"}}}) + "\n")
    with pytest.raises(LocalDataError, match="climbs out of the repository"):
        resolve(repo, manifest(normal_spec()))


def test_loaded_manifests_from_files(repo: Path) -> None:
    """The shape the CLI passes: labelsync.manifest.load_manifests over real YAML."""
    from labelsync.manifest import load_manifests

    text = (
        "apiVersion: labelsync/v1\nkind: Dataset\nmetadata: {name: city}\nspec:\n"
        "  catalog: {BOX2D: {categories: [{name: car}]}, SEMANTIC_MASK: {categories: [{name: bg, categoryId: 0}]}}\n"
        "  segments:\n  - name: day\n    data: {path: ../data/day, include: ['**/*.jpg']}\n"
        "    labels: {path: ../labels/day.jsonl}\n"
    )
    write(repo / "manifests" / "city.yaml", text)
    (repo / ".git").mkdir()
    loaded = load_manifests([repo / "manifests"])
    with HashCache(repo) as cache:
        [d] = resolve_desired(loaded, cache=cache)
    assert d.dataset.provider == "tensorbay"
    assert sorted(d.dataset.segments["day"].items) == ["a.jpg", "sub/b.jpg"]
    assert d.manifest.endswith("city.yaml:1")


# ---------------------------------------------------------------------- the remembered digest

OLD_NS = 1_600_000_000_000_000_000


def age(root: Path) -> None:
    """Give every file under ``root`` an old mtime (outside the racy window)."""
    for path in root.rglob("*"):
        if path.is_file() and ".labelsync" not in path.parts:
            os.utime(path, ns=(OLD_NS, OLD_NS))


def test_an_unchanged_tree_reuses_its_digest_and_builds_items_only_on_demand(repo: Path) -> None:
    age(repo)
    m = manifest(normal_spec())
    [first] = resolve(repo, m)
    assert type(first.dataset.segments["day"].items).__name__ == "ItemTable"  # computed, then remembered
    [again] = resolve(repo, m)
    lazy = again.dataset.segments["day"].items
    assert type(lazy).__name__ == "LazyItems" and again.digest == first.digest
    assert dict(lazy) == dict(first.dataset.segments["day"].items)  # built on first use, the same
    assert dataset_digest(again.dataset, prune=True) == first.digest


def rewrite(path: Path, data: bytes) -> Path:
    write(path, data)
    os.utime(path, ns=(OLD_NS, OLD_NS))  # the old mtime put back: size, inode or ctime must tell
    return path


@pytest.mark.parametrize(
    "change",
    [
        lambda root: rewrite(root / "data" / "day" / "a.jpg", b"image A"),  # same size, new bytes
        lambda root: rewrite(root / "data" / "day" / "c.jpg", b"a new image"),
        lambda root: (root / "data" / "day" / "sub" / "b.jpg").unlink(),
        lambda root: rewrite(root / "labels" / "masks" / "a.png", b"mask A"),
        lambda root: rewrite(root / "labels" / "day.jsonl", (root / "labels" / "day.jsonl").read_bytes().replace(b"12.5", b"13.5")),
    ],
    ids=["rewritten", "added", "removed", "mask", "labels"],
)
def test_any_change_to_an_input_is_seen(repo: Path, change: Any) -> None:
    age(repo)
    m = manifest(normal_spec())
    [before] = resolve(repo, m)
    change(repo)
    [after] = resolve(repo, m)
    assert type(after.dataset.segments["day"].items).__name__ == "ItemTable"  # recomputed, not recalled
    assert after.digest != before.digest
    assert after.digest == dataset_digest(after.dataset, prune=True)


def test_a_manifest_change_is_seen(repo: Path) -> None:
    age(repo)
    [before] = resolve(repo, manifest(normal_spec()))
    [after] = resolve(repo, manifest(normal_spec(tensorbay={"alias": "Town"})))
    assert after.digest != before.digest


def test_files_modified_just_now_are_not_remembered(repo: Path) -> None:
    m = manifest(normal_spec())  # the fixture's files were written a moment ago
    resolve(repo, m)
    [again] = resolve(repo, m)
    assert type(again.dataset.segments["day"].items).__name__ == "ItemTable"


def test_another_labelsync_recomputes(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    age(repo)
    m = manifest(normal_spec())
    resolve(repo, m)
    [hit] = resolve(repo, m)
    assert type(hit.dataset.segments["day"].items).__name__ == "LazyItems"
    import labelsync.desired

    monkeypatch.setattr(labelsync.desired, "code_identity", lambda: "an upgraded labelsync")
    [after_upgrade] = resolve(repo, m)
    assert type(after_upgrade.dataset.segments["day"].items).__name__ == "ItemTable"


def test_a_labels_file_written_just_now_is_identified_by_its_content(repo: Path) -> None:
    age(repo)
    labels = repo / "labels" / "day.jsonl"
    labels.write_bytes(labels.read_bytes())  # fresh mtime; data and mask files are old
    m = manifest(normal_spec())
    [first] = resolve(repo, m)
    [again] = resolve(repo, m)
    assert type(again.dataset.segments["day"].items).__name__ == "LazyItems"
    assert again.digest == first.digest


def test_files_a_scan_hashed_within_the_racy_window_are_not_remembered(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large scan on a cold cache reads the files itself, before resolution starts: the
    racy window is measured from the scan's start (files written 5 s after it are racy)."""
    import time
    import types

    import labelsync.local.scan as scan_mod
    from labelsync.local.scan import Scans

    now = time.time_ns()
    for path in repo.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(now - 5 * 10**9, now - 5 * 10**9))
    monkeypatch.setattr(scan_mod, "PARALLEL_AFTER", 1)
    monkeypatch.setattr(scan_mod, "_workers", lambda: 2)
    monkeypatch.setattr(scan_mod, "time", types.SimpleNamespace(time_ns=lambda: now - 10 * 10**9))
    m = manifest(normal_spec())
    remote = BUILTIN_REMOTES[m.spec.remote]
    loaded = LoadedManifest(m, repo / "manifests" / "city.yaml", "city.yaml", 1, 0, remote)
    for _ in range(2):
        scans = Scans(prehash=lambda base: True)
        with HashCache(repo) as cache:
            [d] = resolve_desired(ManifestSet(repo, {remote.name: remote}, [loaded], scans), cache=cache)
        assert scans.scan(repo, repo / "data" / "day", ["**/*.jpg"], []).digests is not None
        assert type(d.dataset.segments["day"].items).__name__ == "ItemTable"  # computed, never recalled
        assert d.digest == dataset_digest(d.dataset, prune=True)
