"""``validate.run``'s ``on_parsed``: every manifest is parsed before any data directory is
scanned, and the hook sees the manifests valid so far (apply's overlap looks a dataset up there)."""

from __future__ import annotations

import json
from pathlib import Path

from labelsync.local.scan import Scans
from labelsync.manifest.validate import ManifestSet, run
from tests.support.repo import write_repo


class Recording(Scans):
    def __init__(self) -> None:
        super().__init__()
        self.scanned: list[str] = []

    def scan(self, root, data_dir, include, exclude):  # type: ignore[no-untyped-def]
        self.scanned.append(str(data_dir))
        return super().scan(root, data_dir, include, exclude)


def test_the_hook_runs_after_every_manifest_is_parsed_and_before_any_scan(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", "http://127.0.0.1:9", {"a.bin": b"a"})
    manifest = json.loads((repo / "dataset.yaml").read_text())
    manifest["metadata"]["name"] = "ds2"
    (repo / "second.yaml").write_text(json.dumps(manifest))
    manifest["metadata"]["name"] = "ds3"
    manifest["spec"]["remote"] = "nowhere"  # an undeclared remote: reported, never handed on
    (repo / "third.yaml").write_text(json.dumps(manifest))
    scans = Recording()
    seen: list[tuple[list[str], int]] = []

    def on_parsed(found: ManifestSet) -> None:
        seen.append((sorted(e.manifest.metadata.name for e in found), len(scans.scanned)))

    result = run([repo], root=repo, scans=scans, on_parsed=on_parsed)
    assert seen == [(["ds1", "ds2"], 0)]  # the valid manifests, before any data directory was listed
    # every manifest is still checked against the local files (all three), so validate reports every problem
    assert len(scans.scanned) == 3 and sorted(e.manifest.metadata.name for e in result.manifests) == ["ds1", "ds2"]
    assert any("nowhere" in d.message for d in result.diagnostics)


def test_a_local_problem_found_after_the_hook_still_drops_the_manifest(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", "http://127.0.0.1:9", {"a.bin": b"a"})
    manifest = json.loads((repo / "dataset.yaml").read_text())
    manifest["spec"]["segments"][0]["data"]["path"] = "missing"
    (repo / "dataset.yaml").write_text(json.dumps(manifest))
    seen: list[int] = []
    result = run([repo], root=repo, on_parsed=lambda found: seen.append(len(found)))
    assert seen == [1] and len(result.manifests) == 0
    assert any("missing" in d.message for d in result.diagnostics)
