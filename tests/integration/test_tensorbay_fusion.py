"""A fusion dataset over loopback: sensors and stable frame IDs, then a pruned frame and a sensor change."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.repo import TOKEN_ENV, run_cli
from tests.support.tensorbay import TOKEN, Remote

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fusion"


def _repo(tmp_path: Path, url: str) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    (repo / "labelsync.yaml").write_text(f"remotes:\n  default: {{provider: tensorbay, url: '{url}', tokenEnv: {TOKEN_ENV}}}\n")
    return repo


def _frames(remote: Remote) -> dict[str, list[str]]:
    ds = remote.dataset_id("fusion-demo")
    head = remote.commits("fusion-demo")[0]["commitId"]
    body = remote.http.get(f"datasets/{ds}/data/details", params={"segmentName": "day", "commit": head}).json()
    return {f["frameId"]: sorted(x["remotePath"] for x in f["frame"]) for f in body["dataDetails"]}


def test_fusion_frames_are_stable_and_prune_removes_a_frame(tmp_path: Path, emulator: Remote) -> None:
    repo = _repo(tmp_path, emulator.url)
    assert run_cli(["apply", ".", "--auto-approve"], repo, TOKEN).code == 0
    frames = _frames(emulator)
    assert sorted(frames.values()) == [
        ["cam_front/0001.png", "lidar/0001.pcd"], ["cam_front/0002.png", "lidar/0002.pcd"], ["cam_front/0003.png", "lidar/0003.pcd"],
    ]
    ds = emulator.dataset_id("fusion-demo")
    head = emulator.commits("fusion-demo")[0]["commitId"]
    sensors = emulator.http.get(f"datasets/{ds}/sensors", params={"segmentName": "day", "commit": head}).json()["sensors"]
    assert sorted(s["name"] for s in sensors) == ["cam_front", "lidar"]

    # the same input gives the same frame IDs: a fresh copy plans no changes
    again = _repo(tmp_path / "second", emulator.url)
    assert run_cli(["plan", ".", "--detailed-exitcode"], again, TOKEN).code == 0

    # drop frame 0003 (both sensors) with prune; move the camera
    for rel in ("data/day/cam_front/0003.png", "data/day/lidar/0003.pcd"):
        (repo / rel).unlink()
    labels = repo / "labels" / "day.jsonl"
    labels.write_text("\n".join(line for line in labels.read_text().splitlines() if "0003" not in line) + "\n")
    manifest = (repo / "dataset.yaml").read_text()
    manifest = manifest.replace("translation: {x: 1.5, y: 0, z: 1.6}", "translation: {x: 1.7, y: 0, z: 1.6}")
    (repo / "dataset.yaml").write_text(manifest.replace("  segments:", "  prune: true\n  segments:", 1))
    result = run_cli(["apply", ".", "--auto-approve"], repo, TOKEN)
    assert result.code == 0, result.text
    assert sorted(_frames(emulator).values()) == [["cam_front/0001.png", "lidar/0001.pcd"], ["cam_front/0002.png", "lidar/0002.pcd"]]
    head = emulator.commits("fusion-demo")[0]["commitId"]
    sensors = emulator.http.get(f"datasets/{ds}/sensors", params={"segmentName": "day", "commit": head}).json()["sensors"]
    cam = next(s for s in sensors if s["name"] == "cam_front")
    assert cam["extrinsics"]["translation"]["x"] == 1.7
    assert run_cli(["plan", ".", "--detailed-exitcode"], repo, TOKEN).code == 0
