"""The emulator's listing memo belongs to one database: a second emulator in the same
process (as in a test run) must never page with the first one's item slots, even when its
connection object takes the closed one's address and the same change count."""

from __future__ import annotations

from pathlib import Path

from labelsync.emulator.tensorbay.db import Database
from labelsync.emulator.tensorbay.items import list_items


def _database(path: Path, paths: list[str], padding: int) -> Database:
    """A database whose version 1 segment "" holds ``paths``; ``padding`` rows elsewhere
    make the two databases' ``total_changes`` equal."""
    db = Database(path)
    with db.transaction() as conn:
        conn.execute("INSERT INTO segments VALUES (1, '', '')")
        for p in paths:
            conn.execute("INSERT INTO items VALUES (1, '', ?, ?, NULL, NULL, ?, 1, NULL, '{}')", (p, p, "0" * 40))
        for i in range(padding):
            conn.execute("INSERT INTO segments VALUES (2, ?, '')", (f"pad{i}",))
    return db


def test_a_new_database_pages_with_its_own_slots(tmp_path: Path) -> None:
    for round_ in range(3):
        first = _database(tmp_path / f"a{round_}.sqlite3", ["a.jpg", "b.jpg"], padding=0)
        with first.transaction() as conn:
            rows, total = list_items(conn, 1, "", 0, 128)
        assert (len(rows), total) == (2, 2)
        first.close()
        del first, conn

        second = _database(tmp_path / f"b{round_}.sqlite3", ["a.jpg"], padding=1)
        with second.transaction() as conn:
            rows, total = list_items(conn, 1, "", 0, 128)
        assert [r["remote_path"] for r in rows] == ["a.jpg"] and total == 1
        second.close()
        del second, conn
