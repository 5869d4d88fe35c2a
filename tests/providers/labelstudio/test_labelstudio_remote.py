"""A Label Studio remote in ``labelsync.yaml``: its url must be a server (no emulator)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.lsrepo import image, write_repo
from tests.support.repo import run_cli

FIX = "start Label Studio (label-studio start --no-browser --port 8080) and give its URL: url: http://127.0.0.1:8080"


@pytest.mark.parametrize("entry", ["{provider: labelstudio, url: local}", "{provider: labelstudio}"])
def test_validate_refuses_a_local_label_studio_remote_in_one_line(tmp_path: Path, entry: str) -> None:
    root = write_repo(tmp_path / "r", "http://127.0.0.1:9", {"a.png": image(1)})
    (root / "labelsync.yaml").write_text(f"remotes:\n  ls: {entry}\n")
    result = run_cli(["validate"], root, "unused")
    assert result.code != 0
    assert "Traceback" not in result.text
    [line] = [x for x in result.text.splitlines() if "embedded emulator" in x]
    assert line.startswith("labelsync.yaml:2:")
    assert "remote 'ls': Label Studio has no embedded emulator, so url 'local' (the default) cannot be used" in line
    assert FIX in line


def test_an_environment_override_to_local_is_refused_too(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "r", "http://127.0.0.1:9", {"a.png": image(1)})
    result = run_cli(["validate"], root, "unused", extra_env={"LABELSYNC_REMOTE_LS_URL": "local"})
    assert result.code != 0 and "Traceback" not in result.text
    assert "LABELSYNC_REMOTE_LS_URL" in result.text and FIX in result.text


def test_a_server_url_validates(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "r", "http://127.0.0.1:9", {"a.png": image(1)})
    result = run_cli(["validate"], root, "unused")
    assert result.code == 0, result.text
