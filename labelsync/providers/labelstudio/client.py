"""Label Studio REST calls (``api/labelstudio.md`` §2 and §4) over one retrying httpx client.

Authentication (both kinds of token) is :mod:`.auth`; cutting uploads into requests within
the server's limits is :mod:`.batches`.

Every answer is checked against its wire model (:mod:`.wire`) by the one answer parser
(:func:`labelsync.providers.answers.parse_answer`): an answer that is not JSON (unknown ``/api/``
paths answer HTML 404, a proxy an HTML 200), truncated or of the wrong shape is one
:class:`~labelsync.errors.BadAnswerError` line. Errors become :mod:`labelsync.errors` classes through
:func:`labelsync.providers.http.raise_for_api`, with Label Studio's ``validation_errors`` in the
message. Tokens (the PAT and every access token) are registered for redaction and never reach
a message.

Requests that must not be repeated (project creation, task import, prediction creation) are
sent once (``NO_RETRY``): a retried import would duplicate tasks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from labelsync import errors
from labelsync.providers.answers import parse_answer
from labelsync.providers.http import (
    NO_RETRY,
    SAFE_METHODS,
    RetryPolicy,
    Stats,
    make_client,
    raise_for_api,
    translate_transport_errors,
)
from labelsync.providers.labelstudio import wire
from labelsync.providers.labelstudio.auth import (  # noqa: F401 - re-exported
    RENEW_MARGIN,
    TokenAuth,
    error_of,
    is_json,
    jwt_expiry,
    token_kind,
    validation_messages,
)
from labelsync.providers.labelstudio.batches import (  # noqa: F401 - re-exported
    MAX_BYTES_PER_REQUEST,
    MAX_FILES_PER_REQUEST,
    PART_OVERHEAD,
    UploadFile,
    upload_batches,
)

TASK_PAGE_SIZE = 1000
MAX_TITLE = 50
"""The longest project title Label Studio accepts (400 "no more than 50 characters")."""


class LabelStudioClient:
    """Endpoint methods bound to one Label Studio server and token. Thread-safe.

    ``url`` is the server root (``http://host:8080``, no ``/api``). ``token_env`` names the
    environment variable the token came from, for the hint of an authentication error.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        token_env: str | None = None,
        transport: httpx.BaseTransport | None = None,
        stats: Stats | None = None,
        timeout: float = 120,
        pool: int = 8,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url.rstrip("/")
        self.token_env = token_env
        self.auth = TokenAuth(token, self.url + "/api/token/refresh/", token_env=token_env, clock=clock)
        self.http = make_client(
            self.url + "/",
            headers={"Accept": "application/json"},
            secrets=[token],
            transport=transport,
            stats=stats,
            timeout=timeout,
            pool=pool,
        )
        self.http.auth = self.auth

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> LabelStudioClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: dict[str, Any] | None = None,
        json: Any = None,
        files: Any = None,
        once: bool = False,
        shape: Any = None,
    ) -> Any:
        """One request; its JSON answer checked against ``shape`` (a wire model or any
        pydantic-validatable type) by :func:`~labelsync.providers.answers.parse_answer`.

        Without ``shape`` an empty answer is None and any JSON is returned as it is. Anything
        unusable (not JSON, an HTML page with status 200, truncated, the wrong shape) raises
        :class:`~labelsync.errors.BadAnswerError` (one line); a bad answer to a GET is asked
        again with the transport's backoff. ``once`` sends the request at most once.
        """
        extensions = {NO_RETRY: False} if once else None
        retrying = getattr(self.http._transport, "policy", None)  # noqa: SLF001 - the RetryTransport of make_client
        policy = retrying if isinstance(retrying, RetryPolicy) else RetryPolicy()
        attempt = 0
        while True:
            with translate_transport_errors(what):
                response = self.http.request(method, path, params=params, json=json, files=files, extensions=extensions)
            raise_for_api(response, what=what, error_code_of=error_of, token_env=self.token_env)
            if shape is None and not response.content.strip():
                return None
            try:
                return parse_answer(response, what=what, shape=shape)
            except errors.BadAnswerError:
                delay = policy.after_error(attempt) if method in SAFE_METHODS else None
                if delay is None:
                    raise
            attempt += 1
            time.sleep(delay)

    # -- user -------------------------------------------------------------------------------

    def whoami(self) -> dict[str, Any]:
        """``GET /api/current-user/whoami``: proves the token (AuthError otherwise)."""
        return self.call("GET", "api/current-user/whoami", what="Label Studio: who am I")

    # -- projects ---------------------------------------------------------------------------

    def find_projects(self, title: str) -> list[wire.Project]:
        """Every project whose title is exactly ``title`` (the server's filter is a substring match)."""
        what = f"find Label Studio project {title!r}"
        found: list[wire.Project] = []
        page = 1
        while True:
            params = {"title": title, "page": page, "page_size": 100}
            parsed = self.call("GET", "api/projects", what=what, params=params, shape=wire.ProjectPage)
            found.extend(p for p in parsed.results if p.title == title)
            if not parsed.next or not parsed.results:
                return found
            page += 1

    def find_project(self, title: str) -> wire.Project | None:
        """The one project titled exactly ``title``, None when there is none; ConflictError if several."""
        found = self.find_projects(title)
        if len(found) > 1:
            ids = ", ".join(str(p.id) for p in found)
            raise errors.ConflictError(
                f"Label Studio has {len(found)} projects titled {title!r} (ids {ids})",
                hint="delete or rename all but one of them",
            )
        return found[0] if found else None

    def create_project(self, title: str, label_config: str, *, description: str = "") -> wire.Project:
        what = f"create Label Studio project {title!r}"
        if len(title) > MAX_TITLE:
            raise errors.ManifestError(
                f"{what}: the title has {len(title)} characters, Label Studio allows at most {MAX_TITLE}",
                hint="use a shorter dataset or segment name",
            )
        body = {"title": title, "label_config": label_config, "description": description}
        return self.call("POST", "api/projects", what=what, json=body, once=True, shape=wire.Project)

    def get_project(self, project_id: int) -> wire.Project:
        what = f"read Label Studio project {project_id}"
        return self.call("GET", f"api/projects/{project_id}/", what=what, shape=wire.Project)

    def update_project(self, project_id: int, **fields: Any) -> wire.Project:
        what = f"update Label Studio project {project_id}"
        return self.call("PATCH", f"api/projects/{project_id}/", what=what, json=fields, shape=wire.Project)

    def delete_project(self, project_id: int) -> None:
        self.call("DELETE", f"api/projects/{project_id}/", what=f"delete Label Studio project {project_id}")

    def validate_config(self, label_config: str, project_id: int | None = None) -> list[str]:
        """What Label Studio refuses about ``label_config`` (empty: accepted).

        With ``project_id`` the project's annotations are taken into account (labels or
        controls they use cannot be removed); without it only the XML is checked.
        """
        path = f"api/projects/{project_id}/validate/" if project_id is not None else "api/projects/validate/"
        what = "validate Label Studio label config"
        with translate_transport_errors(what):
            response = self.http.post(path, json={"label_config": label_config})
        if response.status_code == 400 and is_json(response):
            refusals = validation_messages(response)
            if refusals:
                return refusals
        raise_for_api(response, what=what, error_code_of=error_of, token_env=self.token_env)
        parse_answer(response, what=what, shape=dict[str, Any], empty={})  # 204; a body must at least be a JSON object
        return []

    def summary(self, project_id: int) -> wire.Summary:
        """Per-label counts of the project's annotations."""
        what = f"read Label Studio project {project_id} summary"
        return self.call("GET", f"api/projects/{project_id}/summary/", what=what, shape=wire.Summary)

    # -- tasks ------------------------------------------------------------------------------

    def iter_tasks(
        self, project_id: int, *, fields: str = "task_only", page_size: int = TASK_PAGE_SIZE, include: str | None = None
    ) -> Iterator[wire.Task]:
        """Every task of the project, page by page (``fields="all"`` includes annotations and
        predictions; ``include="id,data"`` answers only those fields, and nested objects only
        their ids). A page past the end (404 "Invalid page.") ends the listing."""
        what = f"list tasks of Label Studio project {project_id}"
        page, seen = 1, 0
        while True:
            params: dict[str, Any] = {"project": project_id, "page": page, "page_size": page_size, "fields": fields}
            if include:
                params["include"] = include
            try:
                parsed = self.call("GET", "api/tasks", what=what, params=params, shape=wire.TaskPage)
            except errors.NotFoundError:
                return
            yield from parsed.tasks
            seen += len(parsed.tasks)
            if not parsed.tasks or len(parsed.tasks) < page_size or seen >= parsed.total:
                return
            page += 1

    def import_tasks(self, project_id: int, tasks: list[dict[str, Any]]) -> list[int]:
        """Create ``tasks`` (each ``{"data": ..., "predictions"?: [...]}``); their new ids, in order.

        Sent once: a repeated import would create the tasks twice.
        """
        what = f"import {len(tasks)} tasks into Label Studio project {project_id}"
        result = self.call(
            "POST", f"api/projects/{project_id}/import", what=what, params={"return_task_ids": "true"}, json=tasks, once=True,
            shape=wire.TaskImport,
        )
        if len(result.task_ids) != len(tasks):
            raise errors.RemoteError(f"{what}: {len(result.task_ids)} task ids came back")
        return result.task_ids

    def import_predictions(self, project_id: int, predictions: list[dict[str, Any]]) -> int:
        """Create predictions (each ``{"task", "result", "model_version"}``) in one request; how
        many were created. Sent once: a repeat would create them twice."""
        what = f"import {len(predictions)} predictions into Label Studio project {project_id}"
        path = f"api/projects/{project_id}/import/predictions"
        return self.call("POST", path, what=what, json=predictions, once=True, shape=wire.PredictionImport).created

    def update_task(self, task_id: int, data: dict[str, Any]) -> wire.Task:
        what = f"update Label Studio task {task_id}"
        return self.call("PATCH", f"api/tasks/{task_id}", what=what, json={"data": data}, shape=wire.Task)

    def delete_tasks(self, project_id: int, task_ids: Sequence[int]) -> int:
        """Delete tasks in one bulk action; the number deleted."""
        if not task_ids:
            return 0
        what = f"delete {len(task_ids)} tasks of Label Studio project {project_id}"
        body = self.call(
            "POST",
            "api/dm/actions",
            what=what,
            params={"id": "delete_tasks", "project": project_id},
            json={"selectedItems": {"all": False, "included": list(task_ids)}},
            shape=wire.ActionResult,
        )
        return body.processed_items

    # -- files ------------------------------------------------------------------------------

    def upload_files(self, project_id: int, files: Sequence[UploadFile]) -> list[wire.FileUpload]:
        """Upload ``files`` without creating tasks, in batches within the request limits
        (:func:`upload_batches`); their stored uploads, in the order of ``files``."""
        out: list[wire.FileUpload] = []
        for batch in upload_batches(files):
            out.extend(self._upload_batch(project_id, batch))
        return out

    def _upload_batch(self, project_id: int, batch: list[UploadFile]) -> list[wire.FileUpload]:
        what = f"upload {len(batch)} files to Label Studio project {project_id}"
        handles = []
        try:
            parts = []
            for i, file in enumerate(batch):
                content: Any = file.content
                if isinstance(content, Path):
                    content = open(content, "rb")  # noqa: SIM115 - closed below
                    handles.append(content)
                # One field name per file: a repeated name keeps only the last file.
                parts.append((f"file{i}", (file.name, content, "application/octet-stream")))
            body = self.call(
                "POST",
                f"api/projects/{project_id}/import",
                what=what,
                params={"commit_to_project": "false"},
                files=parts,
                shape=wire.FileImport,
            )
        except OSError as exc:
            raise errors.LocalDataError(f"{what}: cannot read {exc.filename}: {exc.strerror}") from exc
        finally:
            for handle in handles:
                handle.close()
        ids = body.file_upload_ids
        if len(ids) != len(batch):
            raise errors.RemoteError(f"{what}: {len(ids)} uploads came back for {len(batch)} files")
        uploads = {u.id: u for u in self.file_uploads(project_id, ids)}
        missing = [i for i in ids if i not in uploads]
        if missing:
            raise errors.RemoteError(f"{what}: uploads {missing} are not listed by the server")
        return [uploads[i] for i in ids]

    def file_uploads(self, project_id: int, ids: Sequence[int]) -> list[wire.FileUpload]:
        """The stored uploads ``ids`` of a project (``file`` is the path below ``/data/``)."""
        what = f"read uploads of Label Studio project {project_id}"
        params = {"ids": json.dumps(list(ids))}
        return self.call("GET", f"api/projects/{project_id}/file-uploads", what=what, params=params, shape=list[wire.FileUpload])

    def download(self, path: str) -> bytes:
        """The bytes of a stored file (``/data/upload/...``)."""
        what = f"download {path}"
        with translate_transport_errors(what):
            response = self.http.get(path.lstrip("/"))
        raise_for_api(response, what=what, error_code_of=error_of, token_env=self.token_env)
        return response.content

    # -- predictions and annotations --------------------------------------------------------

    def list_predictions(self, task_id: int) -> list[wire.Prediction]:
        what = f"read predictions of Label Studio task {task_id}"
        return self.call("GET", "api/predictions/", what=what, params={"task": task_id}, shape=list[wire.Prediction])

    def create_prediction(
        self, task_id: int, result: list[dict[str, Any]], *, model_version: str, score: float | None = None
    ) -> wire.Prediction:
        what = f"create a prediction for Label Studio task {task_id}"
        body: dict[str, Any] = {"task": task_id, "result": result, "model_version": model_version}
        if score is not None:
            body["score"] = score
        return self.call("POST", "api/predictions/", what=what, json=body, once=True, shape=wire.Prediction)

    def update_prediction(self, prediction_id: int, **fields: Any) -> wire.Prediction:
        what = f"update Label Studio prediction {prediction_id}"
        return self.call("PATCH", f"api/predictions/{prediction_id}/", what=what, json=fields, shape=wire.Prediction)

    def delete_prediction(self, prediction_id: int) -> None:
        self.call("DELETE", f"api/predictions/{prediction_id}/", what=f"delete Label Studio prediction {prediction_id}")

    def list_annotations(self, task_id: int) -> list[wire.Annotation]:
        what = f"read annotations of Label Studio task {task_id}"
        return self.call("GET", f"api/tasks/{task_id}/annotations/", what=what, shape=list[wire.Annotation])


def newest_annotation(annotations: Sequence[wire.Annotation]) -> wire.Annotation | None:
    """The newest (by ``updated_at``, then id) annotation that was not cancelled; None if none."""
    kept = [a for a in annotations if not a.was_cancelled]
    return max(kept, key=lambda a: (a.updated_at or "", a.id), default=None)
