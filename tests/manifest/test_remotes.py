"""labelsync.yaml: built-in remotes, the file, the environment override, the repository root."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelsync.errors import ConfigError
from labelsync.manifest.remotes import Remote, env_var_for, find_root, load_remotes


def test_builtin_remotes_without_a_file(tmp_path: Path) -> None:
    remotes = load_remotes(tmp_path, environ={})
    assert remotes["default"] == Remote("default", "tensorbay", "local", "TENSORBAY_ACCESS_KEY", {}, builtin=True)
    assert remotes["deepen"].provider == "deepen" and remotes["deepen"].is_local
    assert remotes["deepen"].token_env == "DEEPEN_API_TOKEN"
    assert remotes["tensorbay"].provider == "tensorbay"


def test_file_defines_and_overrides_remotes(tmp_path: Path) -> None:
    (tmp_path / "labelsync.yaml").write_text(
        "remotes:\n"
        "  default: {provider: tensorbay, url: 'https://gas.graviti.com/', tokenEnv: MY_KEY}\n"
        "  labellers: {provider: deepen, url: 'https://tools.deepen.ai/api/v2', clientId: acme}\n"
        "  scratch-area: {provider: tensorbay}\n"
    )
    remotes = load_remotes(tmp_path, environ={})
    assert remotes["default"] == Remote("default", "tensorbay", "https://gas.graviti.com/", "MY_KEY", {})
    assert remotes["labellers"] == Remote("labellers", "deepen", "https://tools.deepen.ai/api/v2", "DEEPEN_API_TOKEN", {"clientId": "acme"})
    assert remotes["scratch-area"].is_local
    assert remotes["deepen"].builtin  # built-ins stay unless redefined


def test_environment_overrides_the_url(tmp_path: Path) -> None:
    (tmp_path / "labelsync.yaml").write_text("remotes:\n  scratch-area: {provider: tensorbay}\n")
    env = {env_var_for("scratch-area"): "http://127.0.0.1:9999/", "LABELSYNC_REMOTE_DEFAULT_URL": "http://x/"}
    remotes = load_remotes(tmp_path, environ=env)
    assert env_var_for("scratch-area") == "LABELSYNC_REMOTE_SCRATCH_AREA_URL"
    assert remotes["scratch-area"].url == "http://127.0.0.1:9999/"
    assert remotes["default"].url == "http://x/"
    assert not remotes["default"].is_local


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("remotes:\n  x: {provider: gitlab}\n", "labelsync.yaml:2:17:"),
        ("remotes:\n  x: {provider: tensorbay, token: abc}\n", "labelsync.yaml:2:"),
        ("remotes:\n  x: {provider: deepen, url: 'https://d/'}\n", "needs a clientId"),
        ("remotes: [\n", "invalid YAML"),
    ],
)
def test_invalid_file_is_a_config_error(tmp_path: Path, text: str, fragment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "labelsync.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as exc:
        load_remotes(tmp_path, environ={})
    assert fragment in str(exc.value)


def test_find_root(tmp_path: Path) -> None:
    (tmp_path / "repo" / "a" / "b").mkdir(parents=True)
    (tmp_path / "repo" / ".git").mkdir()
    assert find_root(tmp_path / "repo" / "a" / "b") == (tmp_path / "repo").resolve()
    (tmp_path / "repo" / "a" / "labelsync.yaml").write_text("remotes: {}\n")
    assert find_root(tmp_path / "repo" / "a" / "b") == (tmp_path / "repo" / "a").resolve()
    f = tmp_path / "repo" / "a" / "b" / "m.yaml"
    f.write_text("")
    assert find_root(f) == (tmp_path / "repo" / "a").resolve()


def test_deepen_override_needs_a_client_id(tmp_path: Path) -> None:
    env = {"LABELSYNC_REMOTE_DEEPEN_URL": "https://tools.deepen.ai/api/v2"}
    with pytest.raises(ConfigError) as err:
        load_remotes(tmp_path, environ=env)
    assert "LABELSYNC_REMOTE_DEEPEN_CLIENT_ID" in str(err.value) + str(err.value.hint)
    remotes = load_remotes(tmp_path, environ={**env, "LABELSYNC_REMOTE_DEEPEN_CLIENT_ID": "acme"})
    assert (remotes["deepen"].url, remotes["deepen"].setting("clientId")) == ("https://tools.deepen.ai/api/v2", "acme")


def test_config_typos_get_file_line_key_and_did_you_mean(tmp_path: Path) -> None:
    from labelsync.manifest.remotes import config_diagnostics

    (tmp_path / "labelsync.yaml").write_text(
        "remotes:\n"
        "  dp: {provider: deepen, url: local, clientid: a}\n"
        "  tb: {provider: tensorbey}\n"
        "  x: {url: local}\n"
        "remote: {}\n"
    )
    lines = [f"{d.line}:{d.column}: {d.message}" for d in config_diagnostics(tmp_path, environ={})]
    assert lines == [
        "2:38: unknown field 'clientid' (did you mean 'clientId'?)",
        "3:18: 'tensorbey' is not one of tensorbay, deepen, labelstudio (did you mean 'tensorbay'?)",
        "4:6: missing required field 'provider'",
        "5:1: unknown field 'remote' (did you mean 'remotes'?)",
    ]
    assert not any("Extra inputs" in line for line in lines)
