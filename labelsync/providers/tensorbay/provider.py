"""The TensorBay provider: live state at the branch head, the apply session, status and pull.

Reading live state costs O(1) requests when the head commit records the desired digest
(``datasets?name``, ``datasets/{id}``, ``branches?name``, ``drafts``: four requests);
otherwise the head commit's notes, catalog, segments, sensors and every data item are
listed (pages of 128, fetched concurrently once ``totalCount`` is known).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from labelsync.errors import NotFoundError, RemoteError
from labelsync.plan.model import DatasetPlan
from labelsync.providers.session import ApplyEvents, ApplyOptions
from labelsync.providers.tensorbay.client import ROOT_COMMIT, TensorBayClient
from labelsync.providers.tensorbay.convert import (
    DRAFT_TITLE_PREFIX,
    dataset_kind,
    live_items,
    pulled_label,
    read_trailer,
)
from labelsync.providers.tensorbay.session import TensorBaySession
from labelsync.providers.tensorbay.sharding import ShardedTensorBaySession
from labelsync.providers.tensorbay.tags import tag_taken
from labelsync.state import Dataset, Desired, Live, Segment


class TensorBayProvider:
    """:class:`~labelsync.providers.base.Provider` for the TensorBay Open API v1."""

    name = "tensorbay"

    def __init__(self, client: TensorBayClient, *, remote: str = "default") -> None:
        self.client = client
        self.remote = remote

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------------ reading

    def _head(self, name: str, branch: str) -> tuple[str | None, dict[str, Any] | None, dict[str, Any] | None]:
        """``(dataset id, dataset info, branch entry)``; ids None when the dataset is missing."""
        entry = self.client.find_dataset(name)
        if entry is None:
            return None, None, None
        dataset_id = str(entry["id"])
        info = self.client.get_dataset(dataset_id)
        found = self.client.find_branch(dataset_id, branch)
        if found is None:
            if branch == info.get("defaultBranch", "main"):
                found = {"name": branch, "commitId": info.get("commitId", ROOT_COMMIT)}
            else:
                raise NotFoundError(
                    f"dataset '{name}' has no branch '{branch}'",
                    hint=f"create the branch on the remote, or set spec.branch to {info.get('defaultBranch', 'main')!r}",
                )
        return dataset_id, info, found

    def absent_live(self, name: str, branch: str) -> Live | None:
        """:class:`~labelsync.providers.session.AbsenceProbe`: one look-up by name."""
        return Live(dataset=None) if self.client.find_dataset(name) is None else None

    def read_live(self, desired: Desired) -> Live:
        ds = desired.dataset
        dataset_id, info, branch = self._head(ds.name, ds.branch)
        if dataset_id is None or info is None or branch is None:
            return Live(dataset=None)
        head = str(branch["commitId"])
        recorded = read_trailer(branch.get("description")) if head != ROOT_COMMIT else None
        drafts = self.client.open_drafts(dataset_id, ds.branch)
        open_draft = None
        if drafts:
            d = drafts[0]
            open_draft = {"number": d.get("number"), "title": d.get("title", ""), "ours": str(d.get("title", "")).startswith(DRAFT_TITLE_PREFIX)}
        # an empty dataset (head at the root commit) plans like a new one: base None
        live = Live(
            dataset=None,
            head=None if head == ROOT_COMMIT else head,
            recorded_digest=recorded,
            open_draft=open_draft,
            remote_id=dataset_id,
        )
        if recorded is not None and recorded == desired.digest:
            return replace(live, complete=False)
        kind = dataset_kind(info.get("type"))
        settings = {"alias": info["alias"]} if info.get("alias") else {}
        if head == ROOT_COMMIT:
            return replace(live, dataset=Dataset(name=ds.name, provider="tensorbay", kind=kind, remote=ds.remote, branch=ds.branch, settings=settings))
        v = {"commit": head}
        notes = self.client.get_notes(dataset_id, v)
        catalog = self.client.get_catalog(dataset_id, v)
        segments: dict[str, Segment] = {}
        verified = True
        for seg in self.client.list_segments(dataset_id, v):
            name = str(seg["name"])
            sensors = {s["name"]: s for s in self.client.get_sensors(dataset_id, name, v)} if kind == "fusion" else {}
            items, ok = live_items(self.client.iter_details(dataset_id, name, v), fusion=kind == "fusion")
            verified = verified and ok
            segments[name] = Segment(name=name, sensors=sensors, items=items, description=str(seg.get("description") or ""))
        dataset = Dataset(
            name=ds.name,
            provider="tensorbay",
            kind=kind,
            remote=ds.remote,
            branch=ds.branch,
            settings=settings,
            notes={k: v for k, v in notes.items() if k in ("isContinuous", "binPointCloudFields")},
            catalog=catalog,
            segments=segments,
        )
        return replace(live, dataset=dataset, verified=verified)

    def label_statistics(self, desired: Desired) -> dict[str, Any] | None:
        """The live label statistics from TensorBay's statistics endpoint, or ``None`` to list
        the labels instead (:func:`labelsync.providers.tensorbay.statistics.remote_statistics`)."""
        from labelsync.providers.tensorbay.statistics import remote_statistics

        ds = desired.dataset
        dataset_id, _, branch = self._head(ds.name, ds.branch)
        return remote_statistics(self.client, dataset_id, str(branch["commitId"]) if branch else None)

    def tag_problem(self, live: Live, name: str, tag: str) -> str | None:
        return tag_taken(self.client, live.remote_id, name, tag)

    # ------------------------------------------------------------------ writing

    def session(self, plan: DatasetPlan, options: ApplyOptions, events: ApplyEvents) -> TensorBaySession:
        """The apply session of ``plan`` (one draft, which is the branch's lock)."""
        return TensorBaySession(self.client, plan, options, events)

    def shard_session(self, plan: DatasetPlan, options: ApplyOptions, events: ApplyEvents) -> ShardedTensorBaySession:
        """A session of a sharded apply (:mod:`labelsync.providers.sharding`)."""
        return ShardedTensorBaySession(self.client, plan, options, events)

    # ------------------------------------------------------------------ status / pull

    def status(self, desired: Desired) -> dict[str, Any]:
        ds = desired.dataset
        dataset_id, info, branch = self._head(ds.name, ds.branch)
        if dataset_id is None or branch is None:
            return {"exists": False, "in_sync": False}
        head = str(branch["commitId"])
        recorded = read_trailer(branch.get("description")) if head != ROOT_COMMIT else None
        drafts = self.client.open_drafts(dataset_id, ds.branch)
        return {
            "exists": True,
            "id": dataset_id,
            "branch": ds.branch,
            "head": head,
            "head_title": branch.get("title", ""),
            "committed_by_labelsync": recorded is not None,
            "in_sync": recorded == desired.digest,
            "open_drafts": [{"number": d.get("number"), "title": d.get("title", "")} for d in drafts],
        }

    def _download(self, url: str) -> bytes:
        if not url:
            raise RemoteError("the remote gave a mask without a download url", hint="nothing was pulled")
        return b"".join(self.client.iter_download(url))

    def pull_labels(self, desired: Desired) -> dict[str, dict[str, Any]]:
        """The head commit's labels per segment per remote path (every item, ``{}`` when it
        has none); masks as :class:`~labelsync.state.RemoteMask`."""
        ds = desired.dataset
        dataset_id, info, branch = self._head(ds.name, ds.branch)
        if dataset_id is None or info is None or branch is None:
            raise NotFoundError(f"dataset '{ds.name}' does not exist on the remote", hint="apply it first")
        head = str(branch["commitId"])
        out: dict[str, dict[str, Any]] = {}
        if head == ROOT_COMMIT:
            return out
        v = {"commit": head}
        fusion = dataset_kind(info.get("type")) == "fusion"
        for seg in self.client.list_segments(dataset_id, v):
            name = str(seg["name"])
            labels: dict[str, Any] = {}
            for entry in self.client.list_details(dataset_id, name, v):
                for sub in (entry.get("frame", []) if fusion else [entry]):
                    labels[str(sub["remotePath"])] = pulled_label(sub.get("label") or {}, self._download)
            out[name] = labels
        return out

    # ------------------------------------------------------------------ import

    def read_file(self, dataset: Dataset, segment: str, remote_path: str) -> bytes:
        """A data file's bytes at the head of ``dataset``'s branch, through the url its
        ``data/details`` entry gives (one listing per segment, kept for the next files)."""
        key = (dataset.name, dataset.branch, segment)
        urls = self._urls().get(key)
        if urls is None:
            dataset_id, info, branch = self._head(dataset.name, dataset.branch)
            if dataset_id is None or info is None or branch is None:
                raise NotFoundError(f"dataset '{dataset.name}' does not exist on the remote", hint="check its name")
            fusion = dataset_kind(info.get("type")) == "fusion"
            urls = {}
            for entry in self.client.list_details(dataset_id, segment, {"commit": str(branch["commitId"])}):
                for sub in (entry.get("frame", []) if fusion else [entry]):
                    urls[str(sub["remotePath"])] = str(sub.get("url") or "")
            self._urls()[key] = urls
        if remote_path not in urls:
            raise NotFoundError(f"segment '{segment}' of dataset '{dataset.name}' holds no file {remote_path!r}",
                                hint="read the dataset again; it may have changed meanwhile")
        if not urls[remote_path]:
            raise RemoteError(f"the remote gave no download url for {remote_path!r}", hint="nothing was written")
        return self._download(urls[remote_path])

    def _urls(self) -> dict[tuple[str, str, str], dict[str, str]]:
        """The download urls listed so far: ``(dataset, branch, segment) -> remotePath -> url``."""
        cache: dict[tuple[str, str, str], dict[str, str]] = self.__dict__.setdefault("_file_urls", {})
        return cache
