"""Version control: versions, drafts, commits, branches, tags (contract §2.1, §2.2, §6.3).

Dataset records themselves are in :mod:`.datasets`.

Every function takes an open connection inside a transaction (see :mod:`.db`) and returns
JSON-ready values, raising :class:`~.errors.ApiError` for anything the contract refuses.

Rules implemented:

* A dataset starts with branch ``main`` at the root commit ``"0"*32``.
* Draft numbers count 1, 2, 3, ... per dataset across branches and are never reused.
* At most one OPEN draft per branch: a second ``POST drafts`` answers 409 ``NameConflict``
  (``branch 'main' already has an open draft #N``). A partial unique index backs the check.
* A draft copies its branch head (catalog, notes, segments, sensors, data, labels).
* Writes need an OPEN draft: unknown draft -> 404, a CLOSED or COMMITTED one -> 403
  ``Forbidden``.
* Committing moves the branch (which must still point at the draft's parent, else 403),
  marks the draft COMMITTED, and optionally tags (an existing tag -> 409, nothing done).
  The commit's description is stored verbatim.
* Branches need a non-root commit (403 ``Forbidden``); the default branch cannot be deleted
  (403). Tags are listed by name; commits list the revision first, then its ancestors,
  without the root.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Mapping
from typing import Any

from labelsync.emulator.tensorbay.errors import conflict, forbidden, invalid, missing, not_found
from labelsync.emulator.tensorbay.params import as_int

ROOT = "0" * 32
USER = "labelsync-emulator"
DEFAULT_NOTES = {"isContinuous": False, "binPointCloudFields": None}
DRAFT_STATUSES = ("OPEN", "CLOSED", "COMMITTED")


def now() -> int:
    """Epoch seconds."""
    return int(time.time())


# -- datasets -----------------------------------------------------------------------------
def dataset(conn: sqlite3.Connection, dataset_id: str) -> sqlite3.Row:
    """The dataset row; 404 when unknown."""
    row = conn.execute("SELECT * FROM datasets WHERE id = ?", (dataset_id,)).fetchone()
    if row is None:
        raise not_found(f"dataset '{dataset_id}' does not exist")
    return row


def new_version(conn: sqlite3.Connection, dataset_id: str) -> int:
    """An empty version (empty catalog, default notes)."""
    cur = conn.execute(
        "INSERT INTO versions(dataset_id, catalog, notes) VALUES (?, '{}', ?)",
        (dataset_id, json.dumps(DEFAULT_NOTES)),
    )
    return int(cur.lastrowid or 0)


def copy_version(conn: sqlite3.Connection, source: int, dataset_id: str) -> int:
    """A new version holding a copy of ``source``'s whole content."""
    cur = conn.execute(
        "INSERT INTO versions(dataset_id, catalog, notes) SELECT ?, catalog, notes FROM versions WHERE id = ?",
        (dataset_id, source),
    )
    target = int(cur.lastrowid or 0)
    conn.execute(
        "INSERT INTO segments SELECT ?, name, description FROM segments WHERE version_id = ?",
        (target, source),
    )
    conn.execute(
        "INSERT INTO sensors SELECT ?, segment, name, body FROM sensors WHERE version_id = ?",
        (target, source),
    )
    conn.execute(
        "INSERT INTO items SELECT ?, segment, slot, remote_path, frame_id, sensor_name, checksum, file_size,"
        " timestamp, label FROM items WHERE version_id = ?",
        (target, source),
    )
    return target


def touch(conn: sqlite3.Connection, dataset_id: str) -> None:
    """Record a change of the dataset (its ``updateTime``)."""
    conn.execute("UPDATE datasets SET updated = ? WHERE id = ?", (time.time(), dataset_id))


# -- selecting a version ------------------------------------------------------------------
def commit_row(conn: sqlite3.Connection, dataset_id: str, revision: str) -> sqlite3.Row:
    """The commit a revision names: a branch, a tag or a commit ID (in that order); 404."""
    for sql in (
        "SELECT c.* FROM branches b JOIN commits c ON c.dataset_id = b.dataset_id AND c.commit_id = b.commit_id"
        " WHERE b.dataset_id = ? AND b.name = ?",
        "SELECT c.* FROM tags t JOIN commits c ON c.dataset_id = t.dataset_id AND c.commit_id = t.commit_id"
        " WHERE t.dataset_id = ? AND t.name = ?",
        "SELECT * FROM commits WHERE dataset_id = ? AND commit_id = ?",
    ):
        row = conn.execute(sql, (dataset_id, revision)).fetchone()
        if row is not None:
            return row
    raise not_found(f"revision '{revision}' does not exist")


def draft_row(conn: sqlite3.Connection, dataset_id: str, number: int) -> sqlite3.Row:
    """The draft ``number``; 404 when unknown."""
    row = conn.execute(
        "SELECT * FROM drafts WHERE dataset_id = ? AND number = ?", (dataset_id, number)
    ).fetchone()
    if row is None:
        raise not_found(f"draft #{number} does not exist")
    return row


def read_version(conn: sqlite3.Connection, dataset_id: str, source: Mapping[str, Any]) -> int:
    """The version selected by ``draftNumber`` or ``commit`` in ``source`` (any draft status)."""
    dataset(conn, dataset_id)
    if source.get("draftNumber") not in (None, ""):
        return int(draft_row(conn, dataset_id, as_int(source["draftNumber"], "draftNumber"))["version_id"])
    commit = source.get("commit")
    if isinstance(commit, str) and commit:
        return int(commit_row(conn, dataset_id, commit)["version_id"])
    raise missing("draftNumber or commit")


def write_version(conn: sqlite3.Connection, dataset_id: str, source: Mapping[str, Any]) -> int:
    """The version of the OPEN draft ``source["draftNumber"]``: 400/404/403 otherwise."""
    dataset(conn, dataset_id)
    if source.get("draftNumber") in (None, ""):
        raise missing("draftNumber")
    row = draft_row(conn, dataset_id, as_int(source["draftNumber"], "draftNumber"))
    if row["status"] != "OPEN":
        raise forbidden(f"draft #{row['number']} is {row['status']}; writes need an OPEN draft")
    return int(row["version_id"])


# -- drafts -------------------------------------------------------------------------------
def _draft_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "number": row["number"],
        "title": row["title"],
        "branchName": row["branch"],
        "status": row["status"],
        "parentCommitId": row["parent_commit"],
        "author": {"name": row["author"], "date": row["created"]},
        "updatedAt": row["updated"],
        "description": row["description"],
    }


def create_draft(conn: sqlite3.Connection, dataset_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """``POST drafts``: a copy of the branch head; 404 unknown branch, 409 open draft."""
    ds = dataset(conn, dataset_id)
    branch = body.get("branchName") or ds["default_branch"]
    title = body.get("title")
    if not isinstance(title, str) or not title:
        raise missing("title")
    head = conn.execute(
        "SELECT commit_id FROM branches WHERE dataset_id = ? AND name = ?", (dataset_id, branch)
    ).fetchone()
    if head is None:
        raise not_found(f"branch '{branch}' does not exist")
    open_draft = conn.execute(
        "SELECT number FROM drafts WHERE dataset_id = ? AND branch = ? AND status = 'OPEN'",
        (dataset_id, branch),
    ).fetchone()
    if open_draft is not None:
        raise conflict(f"branch '{branch}' already has an open draft #{open_draft[0]}")
    number = int(ds["next_draft"])
    conn.execute("UPDATE datasets SET next_draft = ? WHERE id = ?", (number + 1, dataset_id))
    version = copy_version(conn, int(commit_row(conn, dataset_id, head[0])["version_id"]), dataset_id)
    stamp = now()
    conn.execute(
        "INSERT INTO drafts VALUES (?, ?, ?, ?, 'OPEN', ?, ?, ?, ?, ?, ?)",
        (
            dataset_id,
            number,
            version,
            branch,
            title,
            str(body.get("description") or ""),
            head[0],
            USER,
            stamp,
            stamp,
        ),
    )
    return {"draftNumber": number}


def list_drafts(
    conn: sqlite3.Connection, dataset_id: str, query: Mapping[str, str], offset: int, limit: int
) -> tuple[list[Any], int]:
    """``GET drafts``: ascending by number; ``status`` (default ALL) and ``branchName`` filter."""
    dataset(conn, dataset_id)
    where, args = ["dataset_id = ?"], [dataset_id]
    status = query.get("status") or "ALL"
    if status != "ALL":
        if status not in DRAFT_STATUSES:
            raise invalid("'status' must be one of OPEN, CLOSED, COMMITTED, ALL")
        where.append("status = ?")
        args.append(status)
    if query.get("branchName"):
        where.append("branch = ?")
        args.append(query["branchName"])
    clause = " AND ".join(where)
    total = conn.execute(f"SELECT COUNT(*) FROM drafts WHERE {clause}", args).fetchone()[0]
    rows = conn.execute(
        f"SELECT * FROM drafts WHERE {clause} ORDER BY number LIMIT ? OFFSET ?", [*args, limit, offset]
    )
    return [_draft_json(r) for r in rows], total


def update_draft(conn: sqlite3.Connection, dataset_id: str, number: int, body: Mapping[str, Any]) -> None:
    """``PATCH drafts/{n}``: title/description of an OPEN draft, or ``status: CLOSED``."""
    dataset(conn, dataset_id)
    row = draft_row(conn, dataset_id, number)
    if row["status"] != "OPEN":
        raise forbidden(f"draft #{number} is {row['status']}")
    if "status" in body:
        if body["status"] != "CLOSED":
            raise invalid("a draft's status can only be set to CLOSED")
        conn.execute(
            "UPDATE drafts SET status = 'CLOSED', updated = ? WHERE dataset_id = ? AND number = ?",
            (now(), dataset_id, number),
        )
        return
    for key, column in (("title", "title"), ("description", "description")):
        if key in body:
            value = body[key]
            if not isinstance(value, str) or (key == "title" and not value):
                raise invalid(f"'{key}' must be a {'non-empty ' if key == 'title' else ''}string")
            conn.execute(
                f"UPDATE drafts SET {column} = ?, updated = ? WHERE dataset_id = ? AND number = ?",
                (value, now(), dataset_id, number),
            )


# -- commits ------------------------------------------------------------------------------
def _commit_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "commitId": row["commit_id"],
        "parentCommitId": row["parent_id"],
        "title": row["title"],
        "description": row["description"],
        "committer": {"name": row["committer"], "date": row["date"]},
    }


def commit(conn: sqlite3.Connection, dataset_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """``POST commits``: freeze an OPEN draft, move its branch, optionally tag."""
    dataset(conn, dataset_id)
    title = body.get("title")
    if not isinstance(title, str) or not title:
        raise missing("title")
    if body.get("draftNumber") in (None, ""):
        raise missing("draftNumber")
    draft = draft_row(conn, dataset_id, as_int(body["draftNumber"], "draftNumber"))
    if draft["status"] != "OPEN":
        raise forbidden(f"draft #{draft['number']} is {draft['status']}")
    tag = body.get("tag")
    if tag is not None and (not isinstance(tag, str) or not tag):
        raise invalid("'tag' must be a non-empty string")
    if (
        tag
        and conn.execute("SELECT 1 FROM tags WHERE dataset_id = ? AND name = ?", (dataset_id, tag)).fetchone()
    ):
        raise conflict(f"tag '{tag}' already exists")
    head = conn.execute(
        "SELECT commit_id FROM branches WHERE dataset_id = ? AND name = ?", (dataset_id, draft["branch"])
    ).fetchone()
    if head is None:
        raise not_found(f"branch '{draft['branch']}' does not exist")
    if head[0] != draft["parent_commit"]:
        raise forbidden(f"branch '{draft['branch']}' moved since draft #{draft['number']} was opened")
    commit_id = uuid.uuid4().hex
    description = body.get("description")
    conn.execute(
        "INSERT INTO commits VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            dataset_id,
            commit_id,
            draft["version_id"],
            draft["parent_commit"],
            title,
            description if isinstance(description, str) else "",
            USER,
            now(),
        ),
    )
    conn.execute(
        "UPDATE branches SET commit_id = ? WHERE dataset_id = ? AND name = ?",
        (commit_id, dataset_id, draft["branch"]),
    )
    conn.execute(
        "UPDATE drafts SET status = 'COMMITTED', updated = ? WHERE dataset_id = ? AND number = ?",
        (now(), dataset_id, draft["number"]),
    )
    if tag:
        conn.execute("INSERT INTO tags VALUES (?, ?, ?)", (dataset_id, tag, commit_id))
    touch(conn, dataset_id)
    return {"commitId": commit_id}


def list_commits(
    conn: sqlite3.Connection, dataset_id: str, revision: str | None, offset: int, limit: int
) -> tuple[list[Any], int]:
    """``GET commits``: the revision (default: default branch) then its ancestors, no root."""
    ds = dataset(conn, dataset_id)
    start = commit_row(conn, dataset_id, revision or ds["default_branch"])
    rows = {
        r["commit_id"]: r for r in conn.execute("SELECT * FROM commits WHERE dataset_id = ?", (dataset_id,))
    }
    chain: list[sqlite3.Row] = []
    current: sqlite3.Row | None = start
    while current is not None and current["commit_id"] != ROOT:
        chain.append(current)
        current = rows.get(current["parent_id"]) if current["parent_id"] else None
    return [_commit_json(r) for r in chain[offset : offset + limit]], len(chain)


# -- branches -----------------------------------------------------------------------------
def _branch_json(conn: sqlite3.Connection, dataset_id: str, name: str, commit_id: str) -> dict[str, Any]:
    if commit_id == ROOT:
        return {"name": name, "commitId": ROOT}
    return {"name": name, **_commit_json(commit_row(conn, dataset_id, commit_id))}



def _name_and_commit(conn: sqlite3.Connection, dataset_id: str, body: Mapping[str, Any], on_root: str) -> tuple[str, Any]:
    """``(name, commit row)`` of a ``{name, commit}`` body (branch or tag); 403 ``on_root``."""
    dataset(conn, dataset_id)
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise missing("name")
    revision = body.get("commit")
    if not isinstance(revision, str) or not revision:
        raise missing("commit")
    target = commit_row(conn, dataset_id, revision)
    if target["commit_id"] == ROOT:
        raise forbidden(on_root)
    return name, target

def create_branch(conn: sqlite3.Connection, dataset_id: str, body: Mapping[str, Any]) -> None:
    """``POST branches {name, commit}``: 403 on the root commit, 409 on a taken name."""
    name, target = _name_and_commit(conn, dataset_id, body, "a branch needs a commit: the dataset has no commits yet")
    if conn.execute(
        "SELECT 1 FROM branches WHERE dataset_id = ? AND name = ?", (dataset_id, name)
    ).fetchone():
        raise conflict(f"branch '{name}' already exists")
    conn.execute("INSERT INTO branches VALUES (?, ?, ?)", (dataset_id, name, target["commit_id"]))


def list_branches(
    conn: sqlite3.Connection, dataset_id: str, name: str | None, offset: int, limit: int
) -> tuple[list[Any], int]:
    """``GET branches``: by name ascending; ``name`` is an exact-match filter."""
    dataset(conn, dataset_id)
    where, args = ("AND name = ?", [dataset_id, name]) if name is not None else ("", [dataset_id])
    total = conn.execute(f"SELECT COUNT(*) FROM branches WHERE dataset_id = ? {where}", args).fetchone()[0]
    rows = conn.execute(
        f"SELECT name, commit_id FROM branches WHERE dataset_id = ? {where} ORDER BY name LIMIT ? OFFSET ?",
        [*args, limit, offset],
    ).fetchall()
    return [_branch_json(conn, dataset_id, r[0], r[1]) for r in rows], total


def delete_branch(conn: sqlite3.Connection, dataset_id: str, body: Mapping[str, Any]) -> None:
    """``DELETE branches {name}``: commits stay; the default branch cannot go (403)."""
    ds = dataset(conn, dataset_id)
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise missing("name")
    if name == ds["default_branch"]:
        raise forbidden(f"the default branch '{name}' cannot be deleted")
    if (
        conn.execute("DELETE FROM branches WHERE dataset_id = ? AND name = ?", (dataset_id, name)).rowcount
        == 0
    ):
        raise not_found(f"branch '{name}' does not exist")


# -- tags ---------------------------------------------------------------------------------
def create_tag(conn: sqlite3.Connection, dataset_id: str, body: Mapping[str, Any]) -> None:
    """``POST tags {name, commit}``: the revision may be a commit, branch or tag; 409 taken."""
    name, target = _name_and_commit(conn, dataset_id, body, "the root commit cannot be tagged")
    if conn.execute("SELECT 1 FROM tags WHERE dataset_id = ? AND name = ?", (dataset_id, name)).fetchone():
        raise conflict(f"tag '{name}' already exists")
    conn.execute("INSERT INTO tags VALUES (?, ?, ?)", (dataset_id, name, target["commit_id"]))


def list_tags(
    conn: sqlite3.Connection, dataset_id: str, name: str | None, offset: int, limit: int
) -> tuple[list[Any], int]:
    """``GET tags``: sorted by tag name; ``name`` is an exact-match filter."""
    dataset(conn, dataset_id)
    where, args = ("AND t.name = ?", [dataset_id, name]) if name is not None else ("", [dataset_id])
    total = conn.execute(f"SELECT COUNT(*) FROM tags t WHERE t.dataset_id = ? {where}", args).fetchone()[0]
    rows = conn.execute(
        "SELECT t.name AS tag_name, c.* FROM tags t JOIN commits c ON c.dataset_id = t.dataset_id"
        f" AND c.commit_id = t.commit_id WHERE t.dataset_id = ? {where} ORDER BY t.name LIMIT ? OFFSET ?",
        [*args, limit, offset],
    ).fetchall()
    return [{"name": r["tag_name"], **_commit_json(r)} for r in rows], total


def delete_tag(conn: sqlite3.Connection, dataset_id: str, body: Mapping[str, Any]) -> None:
    """``DELETE tags {name}``: the commit stays."""
    dataset(conn, dataset_id)
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise missing("name")
    if conn.execute("DELETE FROM tags WHERE dataset_id = ? AND name = ?", (dataset_id, name)).rowcount == 0:
        raise not_found(f"tag '{name}' does not exist")
