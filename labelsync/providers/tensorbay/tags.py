"""Tags of a TensorBay dataset: whether a tag name is taken (``GET tags?name=``, §2.2).

A tag is part of the plan (``plan --tag``), so an existing one is found when planning and
again before apply writes anything, never first by the commit that would carry it.
"""

from __future__ import annotations

from typing import Any

from labelsync.providers.tensorbay.client import PAGE, TensorBayClient


def find_tag(client: TensorBayClient, dataset_id: str, tag: str) -> dict[str, Any] | None:
    """The tag named exactly ``tag`` on the dataset (``{"name", "commitId", ...}``), or None."""
    body = client.call("GET", f"datasets/{dataset_id}/tags", what=f"read tag '{tag}'", params={"name": tag, "offset": 0, "limit": PAGE})
    entries = body.get("tags") if isinstance(body, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("name") == tag:
            return entry
    return None


def tag_taken(client: TensorBayClient, dataset_id: str | None, name: str, tag: str) -> str | None:
    """Why ``tag`` cannot be given to the next commit of dataset ``name`` (one line), or None.

    A dataset that does not exist yet (``dataset_id`` None) has no tags.
    """
    if dataset_id is None:
        return None
    found = find_tag(client, dataset_id, tag)
    if found is None:
        return None
    commit = str(found.get("commitId") or "")[:12]
    return (
        f"tag '{tag}' already exists on dataset '{name}'" + (f" (commit {commit})" if commit else "")
        + ": choose another tag, or delete that one on the remote first"
    )
