"""A token an HTTP header cannot carry is refused before any request, with one line naming its
environment variable and the bad character, never the token (a real CLI process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.repo import TOKEN_ENV, run_cli, write_repo

SECRET = "Accesskey-0123456789abcdef"


@pytest.mark.parametrize(
    ("token", "expect"),
    [
        (SECRET + "\n", f"the token in ${TOKEN_ENV} ends with a newline (\\n)"),
        ("\t" + SECRET, f"the token in ${TOKEN_ENV} starts with a tab"),
        (SECRET[:10] + "\u2013" + SECRET[11:], "non-ASCII character, U+2013 (EN DASH), at position 11 of 26"),
        (SECRET[:10] + "\x07" + SECRET[11:], "control character, U+0007 (unnamed), at position 11"),
        (SECRET[:10] + " " + SECRET[11:], "whitespace character, a space, at position 11"),
    ],
    ids=["newline", "tab", "en-dash", "control", "inner-space"],
)
def test_bad_token_is_named_not_echoed(tmp_path: Path, token: str, expect: str) -> None:
    root = write_repo(tmp_path / "repo", "http://127.0.0.1:9", {"a.png": b"a"})
    for command in (["plan"], ["status"]):
        result = run_cli(command, root, token)
        errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
        assert result.code == 1, result.text
        assert len(errors) == 1 and expect in errors[0], result.text
        assert "Hint:" in result.err and TOKEN_ENV in result.err, result.text
        assert "Traceback" not in result.text and "cannot reach" not in result.text, result.text
        assert SECRET[11:] not in result.text and SECRET[:10] not in result.text, result.text
