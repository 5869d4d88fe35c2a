"""The Deepen provider: live state, the apply session, status and pull over the Deepen API v2.

Live state. A dataset is found by name (``datasets_ids``) and read (``datasets/{id}``): two
requests. Its tags hold what labelsync recorded at creation (:mod:`.convert`): the desired
digest, a digest of the zipped data files and the saved profile's id. When the digest tag
equals the desired digest the plan is a proven no-op and nothing else is read. Otherwise:

* settings come from the DatasetResource and the saved profile; the catalog is the inverse
  mapping of the profile, taken as the desired catalog when it equals that catalog's
  projection (the remote holds all Deepen can hold of it);
* items: when the content tag equals the digest of the desired data files, the remote
  holds exactly those files, so each item gets its desired blob (verified); otherwise the
  remote's files (``datasets/{id}/files``) become items without checksums
  (``verified=False``), which the differ turns into a replace;
* labels are the remote's current labels of every stage, converted to TensorBay JSON.

A dataset labelsync created but did not finish uploading (``files_to_be_uploaded`` with a
digest tag) reads as missing with no base: the plan creates it, and apply resumes that
create instead of starting another.
"""

from __future__ import annotations

from typing import Any

from labelsync.errors import ConflictError, NotFoundError, RemoteError
from labelsync.plan.model import DatasetPlan
from labelsync.providers.deepen.client import DeepenClient
from labelsync.providers.deepen.convert import (
    CONTENT_TAG,
    DIGEST_TAG,
    PROFILE_TAG,
    catalog_from_profile,
    catalog_projection,
    content_digest,
    file_id_for,
    live_settings,
    read_tag,
    remote_path_guess,
)
from labelsync.providers.deepen.labels import (
    align_order,
    from_deepen,
)
from labelsync.providers.deepen.session import DeepenSession
from labelsync.providers.deepen.upload import DEFAULT_CHUNK
from labelsync.providers.session import ApplyEvents, ApplyOptions
from labelsync.state import Blob, Dataset, Desired, Item, Live, Segment

DEFAULT_SEGMENT = "default"


class DeepenProvider:
    """:class:`~labelsync.providers.base.Provider` for the Deepen API v2."""

    name = "deepen"

    def __init__(self, client: DeepenClient, *, remote: str = "default", chunk: int = DEFAULT_CHUNK) -> None:
        self.client = client
        self.remote = remote
        self.chunk = chunk

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------------ reading

    def _find(self, name: str) -> tuple[str, dict[str, Any]] | None:
        """``(dataset id, DatasetResource)`` of the dataset named ``name``, or None."""
        ids = self.client.find_datasets(name)
        if not ids:
            return None
        if len(ids) == 1:
            return ids[0], self.client.get_dataset(ids[0])
        # a replace creates the new dataset before deleting the old one; when it stopped in
        # between, the one whose processing failed is the leftover, not the dataset
        found = [(i, self.client.get_dataset(i)) for i in ids]
        usable = [(i, r) for i, r in found if r.get("processing_status") != "preprocessing_error"]
        if len(usable) == 1:
            return usable[0]
        raise ConflictError(
            f"{len(ids)} Deepen datasets are named '{name}' ({', '.join(ids)})",
            hint="an interrupted replace leaves the old and the new one: delete the one you do not want on Deepen",
        )

    @staticmethod
    def _unfinished(resource: dict[str, Any]) -> bool:
        """labelsync's own create that stopped before the upload completed."""
        tags = resource.get("tags") or []
        return resource.get("processing_status") == "files_to_be_uploaded" and read_tag(tags, DIGEST_TAG) is not None

    def read_live(self, desired: Desired) -> Live:
        ds = desired.dataset
        found = self._find(ds.name)
        if found is None:
            return Live(dataset=None)
        dataset_id, res = found
        if self._unfinished(res):
            return Live(dataset=None, remote_id=dataset_id, info=_info(res))
        tags = res.get("tags") or []
        status = res.get("processing_status")
        # The digest tag is written once, at creation; label imports cannot update it (Deepen
        # has no tag update), so it never proves a no-op. The live labels are always read
        # (one request) and compared; data and profile are proven by the content and profile
        # tags below. A constant number of requests either way.
        base: dict[str, Any] = {"head": dataset_id, "remote_id": dataset_id, "info": _info(res)}
        profile_id = read_tag(tags, PROFILE_TAG)
        profile = self.client.get_profile(profile_id) if profile_id else {"pipeline_spec": res.get("pipeline_spec") or []}
        catalog = catalog_from_profile(profile)
        if catalog == catalog_projection(ds.catalog) or profile_id is None:
            # without labelsync's profile tag the profile was given inline at creation, and
            # Deepen gives no way to read it back (api/deepen.md §4.1): taken as declared
            catalog = dict(ds.catalog)
            base["info"] = {**base["info"], "catalog_unreadable": profile_id is None}
        seg_name = next(iter(ds.segments), DEFAULT_SEGMENT)
        want = ds.segments[seg_name].items if ds.segments else {}
        dataset_type = str(res.get("dataset_type"))
        fmt = res.get("dataset_format")
        labels = self.client.labels_by_file(dataset_id) if status == "files_getting_labelled" else {}
        content = read_tag(tags, CONTENT_TAG)
        items: dict[str, Item] = {}
        if content is not None and content == content_digest(want.values()) and status != "preprocessing_error":
            for path, item in want.items():
                file_id = file_id_for(path, dataset_type, fmt)
                label = align_order(from_deepen(labels.get(file_id, [])), item.label) if file_id else {}
                items[path] = Item(remote_path=path, blob=item.blob, label=label)
        elif status == "files_getting_labelled":
            claimed = {file_id_for(p, dataset_type, fmt): p for p in want}
            # a dataset labelsync did not create has no content tag: its files' content is
            # read from the upload itself (one download; Deepen reports no checksums)
            blobs = self._uploaded_blobs(dataset_id) if content is None else {}
            for f in self.client.list_files(dataset_id):
                file_id = str(f.get("file_id"))
                path = claimed.get(file_id) or remote_path_guess(file_id, dataset_type, fmt)
                label = from_deepen(labels.get(file_id, []))
                if path in want:
                    label = align_order(label, want[path].label)
                items[path] = Item(remote_path=path, blob=blobs.get(path), label=label)
        dataset = Dataset(
            name=ds.name,
            provider="deepen",
            kind=dataset_type,
            remote=ds.remote,
            branch=ds.branch,
            settings=live_settings(res, profile, ds.settings),
            catalog=catalog,
            segments={seg_name: Segment(name=seg_name, items=items, description=ds.segments[seg_name].description if ds.segments else "")},
        )
        verified = content is not None or (bool(items) and all(i.blob is not None for i in items.values()))
        return Live(dataset=dataset, verified=verified, **base)

    def tag_problem(self, live: Live, name: str, tag: str) -> str | None:
        return None  # Deepen has no tags: planning never asks (not versioned)

    def _current(self, name: str) -> str | None:
        """The revision a new plan of dataset ``name`` is based on: its id (None when missing,
        or when it is labelsync's own unfinished create)."""
        found = self._find(name)
        if found is None or self._unfinished(found[1]):
            return None
        return found[0]

    # ------------------------------------------------------------------ writing

    def session(self, plan: DatasetPlan, options: ApplyOptions, events: ApplyEvents) -> DeepenSession:
        """The apply session of ``plan`` (create, replace or label import)."""
        return DeepenSession(self.client, plan, options, events, current=lambda: self._current(plan.name), chunk=self.chunk)

    # ------------------------------------------------------------------ status / pull

    def status(self, desired: Desired) -> dict[str, Any]:
        """Where the dataset stands: processing, current stage, per-stage counters, files, in sync."""
        found = self._find(desired.dataset.name)
        if found is None:
            return {"exists": False, "in_sync": False}
        dataset_id, res = found
        # "in sync" is decided by comparing content (labels may have changed since the
        # digest tag was written), which the status command does when this is not True
        return {"exists": True, "id": dataset_id, **_info(res), "in_sync": None}

    def pull_labels(self, desired: Desired) -> dict[str, dict[str, Any]]:
        """The remote labels per segment per remote path: every file the dataset holds, ``{}``
        for a file without labels. ``{}`` (no segment at all) while the dataset is not being
        labelled yet (processing, or failed): there is nothing to pull."""
        ds = desired.dataset
        found = self._find(ds.name)
        if found is None:
            raise NotFoundError(f"dataset '{ds.name}' does not exist on Deepen", hint="apply it first")
        dataset_id, res = found
        seg_name = next(iter(ds.segments), DEFAULT_SEGMENT)
        if res.get("processing_status") != "files_getting_labelled":
            return {}
        dataset_type, fmt = str(res.get("dataset_type")), res.get("dataset_format")
        want = ds.segments[seg_name].items if ds.segments else {}
        claimed = {file_id_for(p, dataset_type, fmt): p for p in want}
        out: dict[str, Any] = {}
        by_file = self.client.labels_by_file(dataset_id)
        # the answer holds every file id (an empty list when unlabelled, §3.3): prove it
        missing = sorted({str(f.get("file_id")) for f in self.client.list_files(dataset_id)} - set(by_file))
        if missing:
            raise RemoteError(
                f"read labels of '{ds.name}': the answer lacks {len(missing)} of the dataset's files ({', '.join(missing[:3])}...)",
                hint="nothing was pulled; try again",
            )
        for file_id, docs in sorted(by_file.items()):
            path = claimed.get(file_id) or remote_path_guess(file_id, dataset_type, fmt)
            out[path] = align_order(from_deepen(docs), want[path].label) if path in want else from_deepen(docs)
        return {seg_name: out}

    # ------------------------------------------------------------------ import

    def read_file(self, dataset: Dataset, segment: str, remote_path: str) -> bytes:
        """A data file's bytes, read from the upload the dataset was created from (the zip
        entry named ``remote_path``; a video dataset's upload itself): one download per
        dataset, kept for the next files."""
        from labelsync.providers.deepen.download import zip_entry

        found = self._find(dataset.name)
        if found is None:
            raise NotFoundError(f"dataset '{dataset.name}' does not exist on Deepen", hint="check its name")
        dataset_id, res = found
        return zip_entry(self._upload_of(dataset_id), remote_path, dataset_type=str(res.get("dataset_type")))

    def _upload_of(self, dataset_id: str) -> bytes:
        """The bytes of the upload ``dataset_id`` was created from (downloaded once)."""
        from labelsync.providers.deepen.download import uploaded_bytes

        uploads: dict[str, bytes] = self.__dict__.setdefault("_uploads", {})
        if dataset_id not in uploads:
            uploads[dataset_id] = uploaded_bytes(self.client, dataset_id)
        return uploads[dataset_id]

    def _uploaded_blobs(self, dataset_id: str) -> dict[str, Blob]:
        """``remotePath -> Blob`` of the files in the dataset's uploaded zip (``{}`` when the
        remote gives no link to it, or it is not a zip)."""
        from labelsync.errors import UnsupportedError
        from labelsync.providers.deepen.download import zip_blobs

        try:
            data = self._upload_of(dataset_id)
        except UnsupportedError:
            return {}
        return {path: Blob(checksum, size) for path, (checksum, size) in zip_blobs(data).items()}

def _info(res: dict[str, Any]) -> dict[str, Any]:
    """The status facts of a DatasetResource."""
    stages = res.get("pipeline_stage_status") or (res.get("pipeline_status_by_label_set_id") or {}).get("default") or {}
    pipeline = res.get("pipeline_status") or {}
    return {
        "processing_status": res.get("processing_status"),
        "message": res.get("processing_status_message") or res.get("processing_error_message") or "",
        "current_stage": res.get("current_stage"),
        "current_stage_status": res.get("current_stage_status"),
        "stages": {str(k): dict(v) for k, v in stages.items() if isinstance(v, dict)},
        "files": pipeline.get("__TOTAL", len(res.get("frame_sizes") or [])),
        "all_stages_done": pipeline.get("__ALL_STAGES_DONE", 0),
    }

