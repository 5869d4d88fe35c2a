"""Thin TensorBay Open API v1 endpoint methods (``api/tensorbay.md`` §2) over one httpx client.

Each method is one request (or one paged listing) and returns the response JSON, checked
at this boundary against a small wire model (``w.Datasets``, ``_Drafts``, ...: the keys
labelsync reads, extra keys kept) by :func:`labelsync.providers.answers.request_json`; an
answer that is not JSON or has the wrong shape is a one-line
:class:`~labelsync.errors.BadAnswerError`. Errors become labelsync errors through
:func:`labelsync.providers.http.raise_for_api`.

Only requests safe to repeat are retried. Creating a dataset, opening a draft and
committing are not: after an ambiguous failure they look for their own effect first (the
dataset by name, the draft by its title and lock line, the commit by its description, which
carries the digest trailer) and converge on it (:func:`~labelsync.providers.answers.converge`). A version
selector ``V`` is ``{"draftNumber": n}`` or ``{"commit": id}``: query parameters for GET,
JSON body fields for writes, as the contract says.

Storage uploads (the S3-style form POST to the policy's host) and file downloads carry no
``X-Token``: the credentials never leave for another host. Uploads run on one
:class:`~labelsync.providers.post_pool.PostPool` (one event loop: a quarter of the client CPU
of threads and httpx at thousands of small POSTs) in every configuration: direct or through
the environment's proxy, http or https, or over an injected transport (tests); downloads use
a per-thread httpx client.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx

from labelsync import __version__
from labelsync.errors import ConflictError, RemoteError
from labelsync.providers.answers import converge, request_json
from labelsync.providers.http import make_client, raise_for_api, translate_transport_errors
from labelsync.providers.post_pool import Batch, Post, PostPool
from labelsync.providers.tensorbay import wire as w
from labelsync.providers.tensorbay.form import FormEncoder, multipart_form

API_PATH = "gatewayv2/tensorbay-open-api/v1/"
PAGE = 128
ROOT_COMMIT = "0" * 32

V = Mapping[str, Any]
USER_AGENT = f"labelsync/{__version__}"
T = TypeVar("T")


def api_root(url: str) -> str:
    """The Open API root for a service base url (``https://gas.graviti.com/`` -> ``.../v1/``)."""
    return url.rstrip("/") + "/" + API_PATH


class TensorBayClient:
    """Endpoint methods bound to one remote. Thread-safe (httpx clients are)."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        token_env: str | None = None,
        pool: int = 32,
        uploads: int = 32,
        transport: httpx.BaseTransport | None = None,
        stats: Any = None,
    ) -> None:
        self.url = url
        self.token_env = token_env
        self.http = make_client(
            api_root(url),
            headers={"X-Token": token, "X-Source": "labelsync"},
            secrets=[token],
            pool=pool,
            transport=transport,
            stats=stats,
        )
        self._storage_args: dict[str, Any] = {"transport": transport, "stats": stats}
        self._uploads = max(1, uploads)
        self._posts: PostPool | None = None
        self._local = threading.local()
        self._storage_clients: list[httpx.Client] = []
        self._lock = threading.Lock()
        self._draft_branch: dict[tuple[str, int], str] = {}
        """The branch of each draft seen (opened or listed): where to look for its commit."""

    @property
    def storage(self) -> httpx.Client:
        """This thread's storage client (downloads): no token, and
        its own connection pool, because httpcore's pool serialises every request and
        response close on one lock, which many threads turn into the bottleneck.
        """
        client = getattr(self._local, "storage", None)
        if client is None:
            client = make_client("", headers={}, pool=2, timeout=120, **self._storage_args)
            self._local.storage = client
            with self._lock:
                self._storage_clients.append(client)
        return client

    def close(self) -> None:
        self.http.close()
        if self._posts is not None:
            self._posts.close()
        with self._lock:
            for client in self._storage_clients:
                client.close()
            self._storage_clients.clear()

    # ------------------------------------------------------------------ plumbing

    def call(
        self, method: str, path: str, *, what: str, params: V | None = None, json: Any = None, shape: Any = None, retry: bool | None = None
    ) -> Any:
        """Send one API request; return its JSON checked against ``shape`` (``{}`` when a write
        is answered with an empty body)."""
        return request_json(
            self.http, method, path, what=what, shape=shape, empty={} if method != "GET" else None,
            params=params, json_body=json, token_env=self.token_env, retry=retry,
        )

    def list_all(self, path: str, key: str, *, what: str, params: V | None = None, workers: int = 8) -> list[Any]:
        """Every item of a paged listing: the first page gives ``totalCount``; the rest are
        fetched concurrently (pages of 128, §3).

        The listing must prove itself complete: every page holds ``key`` as a list, full pages
        until the last, ``totalCount`` items in all, and when the last page is full, one more
        page shows nothing follows. Otherwise :class:`RemoteError` (never a partial list):
        :meth:`iter_all`'s checks, collected.
        """
        return list(self.iter_all(path, key, what=what, params=params, workers=workers))

    def iter_all(self, path: str, key: str, *, what: str, params: V | None = None, workers: int = 8) -> Iterator[Any]:
        """:meth:`list_all` as a stream: the items page by page, in order, with at most
        ``2 * workers`` pages fetched ahead, so a million-item listing is never held whole.

        The same proof of completeness is checked as the pages go and at the end: an
        incomplete listing raises :class:`RemoteError` after its last item, so a consumer
        that builds something from the stream must let the error discard it.
        """
        query = dict(params or {})
        shape = w.PAGES[key]

        def page(offset: int) -> list[Any]:
            body = self.call("GET", path, what=what, params={**query, "offset": offset, "limit": PAGE}, shape=shape)
            return list(body[key])

        first = self.call("GET", path, what=what, params={**query, "offset": 0, "limit": PAGE}, shape=shape)
        total = int(first["totalCount"])
        last = list(first[key])
        offsets = iter(range(PAGE, total, PAGE))
        count, pending = 0, len(range(PAGE, total, PAGE))
        with ThreadPoolExecutor(max_workers=max(1, min(workers, pending))) as pool:
            ahead = deque(pool.submit(page, o) for o in itertools.islice(offsets, 2 * workers))
            while True:
                count += len(last)
                yield from last
                if not ahead:
                    break
                if len(last) != PAGE:
                    raise _incomplete(what, f"a page of {len(last)} items came before the last page")
                last = ahead.popleft().result()
                ahead.extend(pool.submit(page, o) for o in itertools.islice(offsets, 1))
        if count != total:
            raise _incomplete(what, f"totalCount says {total} but {count} items came")
        if total and len(last) == PAGE and page(total):
            raise _incomplete(what, f"totalCount says {total} but more items follow")

    # ------------------------------------------------------------------ datasets

    def find_dataset(self, name: str) -> dict[str, Any] | None:
        """The dataset named exactly ``name`` (list entry), or None."""
        body = self.call("GET", "datasets", what=f"find dataset '{name}'", params={"name": name, "offset": 0, "limit": PAGE}, shape=w.Datasets)
        for entry in body["datasets"]:
            if entry.get("name") == name:
                return dict(entry)
        return None

    def get_dataset(self, dataset_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"datasets/{dataset_id}", what="read dataset", shape=w.Dataset))

    def create_dataset(self, name: str, *, fusion: bool, alias: str = "") -> str:
        """Create the dataset; after a lost answer, the dataset found by name is the one."""

        def write() -> str:
            body = self.call(
                "POST", "datasets", what=f"create dataset '{name}'",
                json={"name": name, "type": 1 if fusion else 0, "alias": alias, "isPublic": False},
                shape=w.IdOnly, retry=False,
            )
            return str(body["id"])

        def look() -> str | None:
            found = self.find_dataset(name)
            return str(found["id"]) if found else None

        return converge(write, look)

    def update_dataset(self, dataset_id: str, **fields: Any) -> None:
        self.call("PATCH", f"datasets/{dataset_id}", what="update dataset", json=fields, retry=True)

    # ------------------------------------------------------------------ versions

    def find_branch(self, dataset_id: str, name: str) -> dict[str, Any] | None:
        body = self.call("GET", f"datasets/{dataset_id}/branches", what=f"read branch '{name}'", params={"name": name, "offset": 0, "limit": PAGE}, shape=w.Branches)
        for entry in body["branches"]:
            if entry.get("name") == name:
                return dict(entry)
        return None

    def branch_head(self, dataset_id: str, branch: str) -> str | None:
        """The head commit of ``branch``; None before its first commit or when it is missing.

        A dataset's default branch may be absent from the branch list until its first
        commit; the dataset's own ``commitId`` stands for it then.
        """
        found = self.find_branch(dataset_id, branch)
        if found is not None:
            commit = found.get("commitId")
        else:
            info = self.get_dataset(dataset_id)
            commit = info.get("commitId") if branch == info.get("defaultBranch", "main") else None
        return None if commit in (None, ROOT_COMMIT) else str(commit)

    def open_drafts(self, dataset_id: str, branch: str) -> list[dict[str, Any]]:
        drafts = self.list_all(f"datasets/{dataset_id}/drafts", "drafts", what="list drafts", params={"status": "OPEN", "branchName": branch})
        with self._lock:
            for draft in drafts:
                self._draft_branch[(dataset_id, int(draft["number"]))] = branch
        return drafts

    def create_draft(self, dataset_id: str, branch: str, title: str, description: str = "") -> int:
        """Open a draft; after a lost answer, the open draft with this very title and
        description (the lock line names this run) is the one."""
        body: dict[str, Any] = {"branchName": branch, "title": title}
        if description:
            body["description"] = description

        def write() -> int:
            answer = self.call("POST", f"datasets/{dataset_id}/drafts", what=f"open a draft on '{branch}'", json=body, shape=w.Created, retry=False)
            return int(answer["draftNumber"])

        def look() -> int | None:
            for draft in self.open_drafts(dataset_id, branch):
                if draft.get("title") == title and (draft.get("description") or "") == description:
                    return int(draft["number"])
            return None

        number = converge(write, look)
        with self._lock:
            self._draft_branch[(dataset_id, number)] = branch
        return number

    def update_draft(self, dataset_id: str, number: int, **fields: Any) -> None:
        self.call("PATCH", f"datasets/{dataset_id}/drafts/{number}", what=f"update draft #{number}", json=fields, retry=True)

    def commit(self, dataset_id: str, number: int, title: str, description: str, tag: str | None) -> str:
        """Commit a draft; after a lost answer, a branch head with this very title and
        description (which carries the digest trailer) is this commit."""
        body: dict[str, Any] = {"title": title, "draftNumber": number, "description": description}
        if tag:
            body["tag"] = tag
        with self._lock:
            branch = self._draft_branch.get((dataset_id, number))

        def write() -> str:
            answer = self.call("POST", f"datasets/{dataset_id}/commits", what=f"commit draft #{number}", json=body, shape=w.Committed, retry=False)
            return str(answer["commitId"])

        def look() -> str | None:
            head = self.find_branch(dataset_id, branch) if branch else None
            if head and head.get("title") == title and (head.get("description") or "") == description:
                return str(head["commitId"])
            return None

        return converge(write, look)

    # ------------------------------------------------------------------ contents

    def get_notes(self, dataset_id: str, v: V) -> dict[str, Any]:
        return dict(self.call("GET", f"datasets/{dataset_id}/notes", what="read notes", params=v, shape=w.Notes))

    def put_notes(self, dataset_id: str, number: int, notes: Mapping[str, Any]) -> None:
        self.call("PATCH", f"datasets/{dataset_id}/notes", what="update notes", json={**notes, "draftNumber": number}, retry=True)

    def get_catalog(self, dataset_id: str, v: V) -> dict[str, Any]:
        return dict(self.call("GET", f"datasets/{dataset_id}/labels/catalogs", what="read catalog", params=v, shape=w.Catalog)["catalog"])

    def get_label_statistics(self, dataset_id: str, v: V) -> dict[str, Any]:
        """``labelStatistics`` of version ``v`` (per label type: object counts by category and
        attribute value; api/tensorbay.md §2.3). A server without the endpoint answers 404."""
        return dict(self.call("GET", f"datasets/{dataset_id}/labels/statistics", what="read label statistics", params=v,
                              shape=w.LabelStatistics)["labelStatistics"])

    def put_catalog(self, dataset_id: str, number: int, catalog: Mapping[str, Any]) -> None:
        self.call("PUT", f"datasets/{dataset_id}/labels/catalogs", what="update catalog", json={"catalog": catalog, "draftNumber": number})

    def list_segments(self, dataset_id: str, v: V) -> list[dict[str, Any]]:
        return self.list_all(f"datasets/{dataset_id}/segments", "segments", what="list segments", params=v)

    def create_segment(self, dataset_id: str, number: int, name: str) -> None:
        """Create a segment; repeating is safe (a segment that exists already is the goal)."""
        try:
            self.call("POST", f"datasets/{dataset_id}/segments", what=f"create segment '{name}'", json={"name": name, "draftNumber": number}, retry=True)
        except ConflictError:
            if name not in {s["name"] for s in self.list_segments(dataset_id, {"draftNumber": number})}:
                raise

    def delete_segment(self, dataset_id: str, number: int, name: str) -> None:
        self.call("DELETE", f"datasets/{dataset_id}/segments", what=f"delete segment '{name}'", json={"segmentName": name, "draftNumber": number})

    def get_sensors(self, dataset_id: str, segment: str, v: V) -> list[dict[str, Any]]:
        body = self.call("GET", f"datasets/{dataset_id}/sensors", what=f"read sensors of '{segment}'", params={"segmentName": segment, **v}, shape=w.Sensors)
        return list(body["sensors"])

    def put_sensor(self, dataset_id: str, number: int, segment: str, sensor: Mapping[str, Any]) -> None:
        # an upsert (§2.3): safe to repeat
        self.call("POST", f"datasets/{dataset_id}/sensors", what=f"upload sensor '{sensor.get('name')}'", json={**sensor, "segmentName": segment, "draftNumber": number}, retry=True)

    def delete_sensor(self, dataset_id: str, number: int, segment: str, name: str) -> None:
        self.call("DELETE", f"datasets/{dataset_id}/sensors", what=f"delete sensor '{name}'", json={"segmentName": segment, "sensorName": name, "draftNumber": number})

    def iter_details(self, dataset_id: str, segment: str, v: V, *, workers: int = 8) -> Iterator[dict[str, Any]]:
        """:meth:`list_details` streamed page by page (see :meth:`iter_all`)."""
        return self.iter_all(f"datasets/{dataset_id}/data/details", "dataDetails", what=f"list data of '{segment}'", params={"segmentName": segment, **v}, workers=workers)

    def list_details(self, dataset_id: str, segment: str, v: V, *, workers: int = 8) -> list[dict[str, Any]]:
        return self.list_all(f"datasets/{dataset_id}/data/details", "dataDetails", what=f"list data of '{segment}'", params={"segmentName": segment, **v}, workers=workers)

    def delete_data(self, dataset_id: str, number: int, segment: str, remote_path: str) -> None:
        self.call("DELETE", f"datasets/{dataset_id}/data", what=f"delete '{remote_path}'", json={"segmentName": segment, "remotePath": remote_path, "draftNumber": number})

    def delete_frame(self, dataset_id: str, number: int, segment: str, frame_id: str) -> None:
        self.call("DELETE", f"datasets/{dataset_id}/frames", what=f"delete frame {frame_id}", json={"segmentName": segment, "frameId": frame_id, "draftNumber": number})

    # ------------------------------------------------------------------ uploads

    def get_policy(self, dataset_id: str, number: int, segment: str) -> dict[str, Any]:
        return dict(self.call("GET", f"datasets/{dataset_id}/policies", what="get an upload policy", params={"expired": 240, "segmentName": segment, "draftNumber": number}, shape=w.Policy))

    def upload_objects(
        self,
        items: Iterable[T],
        prepare: Callable[[T], tuple[str, Mapping[str, str], str, bytes]],
        done: Callable[[T, BaseException | None], None],
        *,
        size: Callable[[T], int] = lambda item: 0,
    ) -> Batch[T]:
        """S3-style form POSTs to storage, one per item, ``uploads`` at a time; returns at once.

        ``prepare(item)`` gives ``(host, policy fields, key, data)`` when a connection is free
        (it must be thread-safe: the pool may call it on a reader thread); ``done(item, error)``
        reports each item (see :meth:`PostPool.run`). Read-ahead is off: measured on
        ``benchmarks/apply_tensorbay.py`` it held about 30 MB more at peak (68 -> 99 MB for
        5,000 x 64 KiB) and was not faster (median 5.72 s with it, 5.11 s without, same run).
        """

        forms: list[FormEncoder] = []  # the encoder of the policy fields last seen

        def post(item: T) -> Post:
            host, fields, key, data = prepare(item)
            if len(data) > FormEncoder.MAX_DATA:
                content_type, body = multipart_form({**fields, "key": key, "Content-Type": ""}, data)
            else:
                form = forms[-1] if forms and forms[-1].fields is fields else None
                if form is None:
                    form = FormEncoder(fields)
                    forms[:] = [form]
                content_type, body = form.encode(key, data)
            return Post(host, {"Content-Type": content_type}, body, what=f"upload object {key.rsplit('/', 1)[-1][:12]}")

        with self._lock:
            if self._posts is None:
                self._posts = PostPool(
                    connections=self._uploads, timeout=120, stats=self._storage_args["stats"], user_agent=USER_AGENT,
                    transport=self._storage_args["transport"],
                )  # fmt: skip
        return self._posts.run(items, post, done, size=size, read_ahead=False)

    def callback(self, dataset_id: str, number: int, segment: str, objects: list[dict[str, Any]]) -> None:
        self.call("PUT", f"datasets/{dataset_id}/multi/callback", what=f"register {len(objects)} file(s) in '{segment}'", json={"segmentName": segment, "objects": objects, "draftNumber": number})

    def put_labels(self, dataset_id: str, number: int, segment: str, objects: list[dict[str, Any]]) -> None:
        self.call("PUT", f"datasets/{dataset_id}/multi/data/labels", what=f"update {len(objects)} label(s) in '{segment}'", json={"segmentName": segment, "objects": objects, "draftNumber": number})

    def iter_download(self, url: str) -> Iterator[bytes]:
        with translate_transport_errors("download"), self.storage.stream("GET", url) as response:
            raise_for_api(response, what="download")
            yield from response.iter_bytes()


def _incomplete(what: str, why: str) -> RemoteError:
    """The error for a listing that does not prove itself complete."""
    return RemoteError(f"{what}: the listing is incomplete ({why})", hint="nothing was used of it; try again, or report the server's answer")
