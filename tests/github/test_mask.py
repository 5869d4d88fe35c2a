"""Which values are secret, masking commands, scrubbing."""

from __future__ import annotations

from pathlib import Path

from labelsync.github.mask import Scrubber, secret_names


def test_secret_names_from_patterns_and_labelsync_yaml(tmp_path: Path) -> None:
    config = tmp_path / "labelsync.yaml"
    config.write_text(
        "remotes:\n"
        "  prod: {provider: tensorbay, url: 'https://gas.graviti.com/', tokenEnv: PROD_GRAVITI}\n"
        "  labels: {provider: deepen, url: local, token_env: DEEPEN_CREDS, client_id: abc}\n"
    )
    environ = {
        "TENSORBAY_ACCESS_KEY": "tb-secret-1",
        "DEEPEN_API_TOKEN": "dp-secret-2",
        "GITHUB_TOKEN": "ghs_abcdef",
        "INPUT_GITHUB_TOKEN": "ghs_abcdef",
        "MY_SECRET_THING": "s3cr3t!",
        "PROD_GRAVITI": "named-in-config",
        "DEEPEN_CREDS": "also-named",
        "HOME": "/home/runner",
        "PATH": "/usr/bin",
    }
    assert secret_names(environ, [config, tmp_path / "missing.yaml"]) == {
        "TENSORBAY_ACCESS_KEY",
        "DEEPEN_API_TOKEN",
        "GITHUB_TOKEN",
        "INPUT_GITHUB_TOKEN",
        "MY_SECRET_THING",
        "PROD_GRAVITI",
        "DEEPEN_CREDS",
    }


def test_broken_config_is_skipped(tmp_path: Path) -> None:
    config = tmp_path / "labelsync.yaml"
    config.write_text("remotes: [unclosed\n")
    assert secret_names({"X": "y"}, [config]) == set()


def test_scrubber_replaces_longest_first_and_ignores_short_values() -> None:
    scrub = Scrubber(["abcdef", "abcdefghij", "123", ""])
    assert scrub("key=abcdefghij and abcdef and 123") == "key=*** and *** and 123"
    assert scrub("") == ""
    assert Scrubber([])("abcdef") == "abcdef"


def test_multiline_secret_is_masked_line_by_line() -> None:
    pem = "-----BEGIN KEY-----\nMIIEvQIBADANBgkq\n-----END KEY-----"
    scrub = Scrubber.from_environ({"DEPLOY_PRIVATE_KEY": pem})
    assert scrub(f"got {pem}") == "got ***"
    assert scrub("line MIIEvQIBADANBgkq only") == "line *** only"
    assert "::add-mask::MIIEvQIBADANBgkq" in scrub.mask_commands()
    assert all("\n" not in line for line in scrub.mask_commands())


def test_mask_commands_escape_the_value() -> None:
    assert Scrubber(["100%secret"]).mask_commands() == ["::add-mask::100%25secret"]
