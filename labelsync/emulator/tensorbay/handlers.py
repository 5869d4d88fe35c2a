"""Open API endpoint handlers (contract §2.1-§2.3): plain functions of a :class:`Call`.

Each handler runs in a worker thread, does its database work in one transaction, and
returns the JSON body (status 200) or ``(status, body)``. Anything refused raises
:class:`~.errors.ApiError`. Routing lives in :mod:`.app`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labelsync.emulator.tensorbay import datasets, history, versions
from labelsync.emulator.tensorbay.blobs import BlobStore
from labelsync.emulator.tensorbay.db import Database
from labelsync.emulator.tensorbay.errors import invalid
from labelsync.emulator.tensorbay.params import as_int, page_body, paging
from labelsync.emulator.tensorbay.render import Renderer
from labelsync.emulator.tensorbay.signing import Signer

Result = dict[str, Any] | tuple[int, dict[str, Any]]


@dataclass
class Emulator:
    """Everything a handler needs: state, storage, signing and settings."""

    db: Database
    blobs: BlobStore
    signer: Signer
    tokens: frozenset[str]
    url_ttl: int
    upload_limit: int
    storage_port: int | None = None
    """The port of a separate storage host (:mod:`.storage_host`) the policies name, else None:
    uploads go to the emulator itself."""


@dataclass
class Call:
    """One parsed API request."""

    emu: Emulator
    query: Mapping[str, str]
    body: dict[str, Any]
    path: Mapping[str, Any]
    base_url: str
    flags: frozenset[str] = field(default_factory=frozenset)
    """Bare query words, e.g. ``copy`` in ``segments?copy``."""

    @property
    def dataset_id(self) -> str:
        return str(self.path["id"])

    def renderer(self) -> Renderer:
        return Renderer(self.emu.signer, self.base_url, self.dataset_id, self.emu.url_ttl)


# -- account and datasets -----------------------------------------------------------------
def get_user(call: Call) -> Result:
    return {
        "id": "00000000000000000000000000000001",
        "nickname": versions.USER,
        "email": None,
        "mobile": None,
        "description": "local TensorBay emulator user",
        "team": {
            "id": "00000000000000000000000000000002",
            "name": "labelsync",
            "email": None,
            "description": "",
        },
    }


def list_datasets(call: Call) -> Result:
    offset, limit = paging(call.query)
    with call.emu.db.transaction() as conn:
        items, total = datasets.list_datasets(conn, call.query.get("name"), offset, limit)
    return page_body("datasets", items, offset, total)


def create_dataset(call: Call) -> Result:
    with call.emu.db.transaction() as conn:
        return 201, datasets.create_dataset(conn, call.body)


def get_dataset(call: Call) -> Result:
    with call.emu.db.transaction() as conn:
        return datasets.get_dataset(conn, call.dataset_id)


def update_dataset(call: Call) -> Result:
    with call.emu.db.transaction() as conn:
        datasets.update_dataset(conn, call.dataset_id, call.body)
    return {}


def delete_dataset(call: Call) -> Result:
    with call.emu.db.transaction() as conn:
        datasets.delete_dataset(conn, call.dataset_id)
    return {}


# -- version control ----------------------------------------------------------------------
def create_draft(call: Call) -> Result:
    with call.emu.db.transaction() as conn:
        return versions.create_draft(conn, call.dataset_id, call.body)


def list_drafts(call: Call) -> Result:
    offset, limit = paging(call.query)
    with call.emu.db.transaction() as conn:
        items, total = versions.list_drafts(conn, call.dataset_id, call.query, offset, limit)
    return page_body("drafts", items, offset, total)


def update_draft(call: Call) -> Result:
    number = as_int(call.path["number"], "draftNumber")
    with call.emu.db.transaction() as conn:
        versions.update_draft(conn, call.dataset_id, number, call.body)
    return {}


def create_commit(call: Call) -> Result:
    with call.emu.db.transaction() as conn:
        return versions.commit(conn, call.dataset_id, call.body)


def list_commits(call: Call) -> Result:
    offset, limit = paging(call.query)
    with call.emu.db.transaction() as conn:
        items, total = versions.list_commits(
            conn, call.dataset_id, call.query.get("commit") or None, offset, limit
        )
    return page_body("commits", items, offset, total)


def create_branch(call: Call) -> Result:
    with call.emu.db.transaction() as conn:
        versions.create_branch(conn, call.dataset_id, call.body)
    return {}


def list_branches(call: Call) -> Result:
    offset, limit = paging(call.query)
    with call.emu.db.transaction() as conn:
        items, total = versions.list_branches(conn, call.dataset_id, call.query.get("name"), offset, limit)
    return page_body("branches", items, offset, total)


def delete_branch(call: Call) -> Result:
    with call.emu.db.transaction() as conn:
        versions.delete_branch(conn, call.dataset_id, call.body)
    return {}


def create_tag(call: Call) -> Result:
    with call.emu.db.transaction() as conn:
        versions.create_tag(conn, call.dataset_id, call.body)
    return {}


def list_tags(call: Call) -> Result:
    offset, limit = paging(call.query)
    with call.emu.db.transaction() as conn:
        items, total = versions.list_tags(conn, call.dataset_id, call.query.get("name"), offset, limit)
    return page_body("tags", items, offset, total)


def delete_tag(call: Call) -> Result:
    with call.emu.db.transaction() as conn:
        versions.delete_tag(conn, call.dataset_id, call.body)
    return {}


def _ref_version(conn: sqlite3.Connection, dataset_id: str, ref: str) -> tuple[int, str]:
    """``draft-<n>`` / ``commit-<id>`` -> (version, parent commit)."""
    kind, _, value = ref.partition("-")
    if kind == "draft" and value:
        row = versions.draft_row(conn, dataset_id, as_int(value, "draftNumber"))
        return int(row["version_id"]), str(row["parent_commit"])
    if kind == "commit" and value:
        row = versions.commit_row(conn, dataset_id, value)
        return int(row["version_id"]), str(row["parent_id"] or versions.ROOT)
    raise invalid(f"bad revision '{ref}' in basehead (expected draft-<n> or commit-<id>)")


def _diff_versions(conn: sqlite3.Connection, dataset_id: str, basehead: str) -> tuple[int, int]:
    versions.dataset(conn, dataset_id)
    base_ref, sep, head_ref = basehead.partition("...")
    if not sep:
        head_ref, base_ref = base_ref, ""
    head, parent = _ref_version(conn, dataset_id, head_ref)
    base = (
        _ref_version(conn, dataset_id, base_ref)[0]
        if base_ref
        else int(versions.commit_row(conn, dataset_id, parent)["version_id"])
    )
    return base, head


def diff_segments(call: Call) -> Result:
    offset, limit = paging(call.query)
    with call.emu.db.transaction() as conn:
        base, head = _diff_versions(conn, call.dataset_id, str(call.path["basehead"]))
        items = history.diff_segments(conn, base, head)
    return page_body("segments", items[offset : offset + limit], offset, len(items))


def diff_data(call: Call) -> Result:
    offset, limit = paging(call.query)
    with call.emu.db.transaction() as conn:
        base, head = _diff_versions(conn, call.dataset_id, str(call.path["basehead"]))
        items = history.diff_data(conn, base, head, str(call.path["segment"]))
    return page_body("data", items[offset : offset + limit], offset, len(items))
