"""Apply's counts agree: the progress totals, the files done and the result line count the
same files, and what was not sent is said, with why."""

from __future__ import annotations

from pathlib import Path

from tests.support.repo import run_cli, write_repo
from tests.support.tensorbay import TOKEN, Remote


def test_counts_agree_and_say_what_was_not_sent(tmp_path: Path, emulator: Remote) -> None:
    repo = write_repo(tmp_path / "repo", emulator.url, {"a.jpg": b"same" * 64, "copy.jpg": b"same" * 64, "b.jpg": b"other" * 10})
    first = run_cli(["apply", ".", "--auto-approve"], repo, TOKEN)
    assert first.code == 0, first.text
    assert "3 files to register, 306 B to send" in first.err
    assert "3/3 files done, 306 B/306 B sent" in first.err
    assert "3 file(s) written, 2 file(s) / 306 B uploaded" in first.out
    assert "not sent: 1 file(s) with the same content as another file of the plan, sent once" in first.out

    (repo / "data" / "again.jpg").write_bytes(b"other" * 10)
    second = run_cli(["apply", ".", "--auto-approve"], repo, TOKEN)
    assert second.code == 0, second.text
    assert "1 file(s) written, 0 file(s) / 0 B uploaded" in second.out
    assert "not sent: 1 file(s) whose content the remote already holds" in second.out
    assert "1/1 files done, 0 B/0 B sent" in second.err
