"""The test server fixture: skip/fail rules (no server needed) and the server's tokens (real server)."""

from __future__ import annotations

import httpx
import pytest

from tests.support import labelstudio as support


def test_missing_binary_skips_with_the_install_command(tmp_path) -> None:
    env = {support.ENV_BIN: str(tmp_path / "nope")}
    with pytest.raises(pytest.skip.Exception, match="pip install label-studio"):
        support.binary_or_skip(env)


def test_missing_binary_fails_when_ci_requires_it(tmp_path) -> None:
    env = {support.ENV_BIN: str(tmp_path / "nope"), support.REQUIRE_ENV: "labelstudio"}
    with pytest.raises(pytest.fail.Exception, match="LABELSYNC_REQUIRE=labelstudio but .*pip install label-studio"):
        support.binary_or_skip(env)


def test_given_binary_wins(tmp_path) -> None:
    exe = tmp_path / "label-studio"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    assert support.find_binary({support.ENV_BIN: str(exe)}) == exe


@pytest.mark.labelstudio
def test_server_accepts_both_token_kinds(labelstudio: support.Server) -> None:
    legacy = httpx.get(labelstudio.url + "/api/projects", headers={"Authorization": f"Token {labelstudio.legacy_token}"})
    assert legacy.status_code == 200
    pat = labelstudio.personal_token()
    assert pat.count(".") == 2
    access = httpx.post(labelstudio.url + "/api/token/refresh/", json={"refresh": pat}).json()["access"]
    bearer = httpx.get(labelstudio.url + "/api/projects", headers={"Authorization": f"Bearer {access}"})
    assert bearer.status_code == 200
