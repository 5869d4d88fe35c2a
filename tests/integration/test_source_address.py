"""``LABELSYNC_SOURCE_ADDRESS``: the API client and the upload pool connect from that address."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from labelsync.emulator.runtime import EmbeddedServer, FaultConfig
from labelsync.emulator.tensorbay import create_app
from labelsync.errors import UsageError
from labelsync.providers.source_address import source_address
from tests.support.repo import run_cli, write_repo
from tests.support.tensorbay import TOKEN


def test_apply_connects_from_the_bound_address_for_api_and_uploads(tmp_path: Path) -> None:
    files = {f"img{i}.jpg": hashlib.sha256(str(i).encode()).digest() * 512 for i in range(20)}  # 16 KiB each
    app = create_app(tmp_path / "tb", tokens=[TOKEN], faults=FaultConfig(client_bandwidth=1e9))  # counts per address
    meter = app.bandwidth  # type: ignore[attr-defined]
    with EmbeddedServer(app) as server:
        repo = write_repo(tmp_path / "repo", server.url, files)
        env = {"LABELSYNC_SOURCE_ADDRESS": "127.0.0.2"}
        result = run_cli(["apply", ".", "--auto-approve", "--jobs", "4"], repo, TOKEN, extra_env=env)
        assert result.code == 0, result.text
        assert set(meter.requests) == {"127.0.0.2"}, dict(meter.requests)
        assert meter.received["127.0.0.2"] > sum(map(len, files.values()))  # the uploads came from it
        plan = run_cli(["plan", ".", "--detailed-exitcode"], repo, TOKEN, extra_env={"LABELSYNC_SOURCE_ADDRESS": "127.0.0.3"})
        assert plan.code == 0, plan.text
        assert set(meter.requests) == {"127.0.0.2", "127.0.0.3"}


def test_unset_means_the_system_picks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LABELSYNC_SOURCE_ADDRESS", raising=False)
    assert source_address() is None
    monkeypatch.setenv("LABELSYNC_SOURCE_ADDRESS", " 127.0.0.2 ")
    assert source_address() == "127.0.0.2"


@pytest.mark.parametrize(
    ("value", "says"),
    [("nope", "is not an IP address"), ("192.0.2.77", "is not an address of this machine")],
)
def test_bad_values_are_one_usage_error(monkeypatch: pytest.MonkeyPatch, value: str, says: str) -> None:
    monkeypatch.setenv("LABELSYNC_SOURCE_ADDRESS", value)
    with pytest.raises(UsageError, match=f"LABELSYNC_SOURCE_ADDRESS='{value}' {says}"):
        source_address()


def test_cli_refuses_a_foreign_address_with_one_line(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", "http://127.0.0.1:9", {"a.jpg": b"a"})
    result = run_cli(["plan", "."], repo, TOKEN, extra_env={"LABELSYNC_SOURCE_ADDRESS": "192.0.2.77"})
    assert result.code != 0
    assert "Error: LABELSYNC_SOURCE_ADDRESS='192.0.2.77' is not an address of this machine" in result.text, result.text
    assert "Traceback" not in result.text
