"""labelsync.redact: the one rule set, and every path to the terminal going through it."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from labelsync import redact as R
from labelsync.github.mask import Scrubber, secret_names

SIG = "aa5c0f3e9b1d4c7a8e2f6b0d3c9a7e1f"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("ValueError: invalid literal for int() with base 10: 'Accesskey-0123abcd4567ef'", "0123abcd4567ef"),
        ("HTTP 403 SignatureDoesNotMatch: signature " + SIG, SIG),
        ('{"policy": "eyJleHBpcmF0aW9uIjoiMjAyNCJ9", "x": 1}', "eyJleHBpcmF0aW9uIjoiMjAyNCJ9"),
        ("{'signature': 'deadbeefcafe'}", "deadbeefcafe"),
        ("Authorization: Bearer abcdef.ghijkl-mnop", "abcdef.ghijkl-mnop"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl here", "c2lnbmF0dXJl"),
        ("GET https://s3/x?X-Amz-Signature=abc123&key=k", "abc123"),
        ("Policy=ZXhwaXJhdGlvbjE2ODg1 and more", "ZXhwaXJhdGlvbjE2ODg1"),
    ],
)
def test_shapes_of_secrets_are_redacted(text: str, secret: str) -> None:
    assert secret not in R.redact(text, environ={})


def test_plain_text_is_kept() -> None:
    text = "list datasets: HTTP 404 ResourceNotExist: dataset 'ds1' at https://h/v1/data?offset=0&limit=128"
    assert R.redact(text, environ={}) == text


def test_configured_and_env_values_are_redacted() -> None:
    env = {"MY_TOKEN": "plain-looking-value", "HOME": "/home/x"}
    assert R.redact("a plain-looking-value b /home/x", environ=env) == "a *** b /home/x"
    assert R.redact("a custom-value-9 b", ["custom-value-9"], environ={}) == "a *** b"
    R.register_secret("registered-secret-1")
    assert R.redact("x registered-secret-1", environ={}) == "x ***"


def test_log_records_are_redacted() -> None:
    record = logging.LogRecord("labelsync.http", logging.INFO, __file__, 1, "sent %s", ("Accesskey-zzzzzzzz1",), None)
    handler = logging.StreamHandler()
    R.install_log_filter(handler)
    assert all(f.filter(record) for f in handler.filters)
    assert "zzzzzzzz1" not in record.getMessage()


def test_crash_traceback_is_redacted(tmp_path: Path) -> None:
    """The exit-3 handler prints the traceback through the rule set (the token in clear before)."""
    code = (
        "import sys, click\n"
        "from labelsync import cli\n"
        "@cli.cli.command('boom')\n"
        "def boom():\n"
        "    int('Accesskey-0123456789abcdef')\n"
        "cli.main(['boom'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 3
    assert "Traceback" in proc.stderr
    assert "0123456789abcdef" not in proc.stderr


def test_action_scrubber_uses_the_same_rules_and_the_manifest_loader(tmp_path: Path) -> None:
    config = tmp_path / "labelsync.yaml"
    config.write_text("remotes:\n  prod: {provider: tensorbay, url: 'https://gas.graviti.com/', tokenEnv: PROD_KEYS}\n")
    assert secret_names({"PROD_KEYS": "named-in-config", "HOME": "/h"}, [config]) == {"PROD_KEYS"}
    scrub = Scrubber(["named-in-config"])
    assert scrub("a named-in-config b signature " + SIG) == "a *** b signature ***"


def test_no_second_rule_set() -> None:
    root = Path(__file__).resolve().parents[1] / "labelsync"
    for rel in ("providers/http.py", "cli/output.py", "github/mask.py"):
        text = (root / rel).read_text()
        assert "re.compile" not in text, rel


def test_command_deadline_is_one_line(tmp_path: Path) -> None:
    """A command past --deadline stops with one line, exit 1 (LABELSYNC_DEADLINE alike)."""
    from labelsync.providers import limits
    from labelsync.providers.http import make_client

    limits.set_command_deadline(0.000001)
    try:
        import time

        time.sleep(0.01)
        with make_client("http://127.0.0.1:9/", headers={}) as client, pytest.raises(Exception) as info:
            client.get("x")
        assert "deadline passed" in str(info.value)
    finally:
        limits.set_command_deadline(None)


def test_prose_after_the_word_token_is_not_taken_for_a_credential() -> None:
    from labelsync.redact import redact

    assert redact("Label Studio token refresh: HTTP 401") == "Label Studio token refresh: HTTP 401"
    assert "0123456789" not in redact("Authorization: Token abcdef0123456789")
