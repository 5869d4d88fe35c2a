"""Pydantic models of the Label Studio answers labelsync reads (``api/labelstudio.md`` §4).

Only the fields labelsync uses are declared; every other field is ignored (``extra="ignore"``),
so a newer server adding fields changes nothing. The keys labelsync depends on (a page's items
and total, an import's ids) are required: an answer without them is a bad answer
(:func:`labelsync.providers.answers.parse_answer`), never an empty page. Numbers the server may leave ``null`` (counts
of a project without tasks) are ``int | None``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Project(Wire):
    """``GET /api/projects/{id}/``: identity, config and the status counts."""

    id: int
    title: str = ""
    description: str | None = ""
    label_config: str = ""
    task_number: int | None = None
    num_tasks_with_annotations: int | None = None
    finished_task_number: int | None = None
    total_annotations_number: int | None = None
    skipped_annotations_number: int | None = None
    total_predictions_number: int | None = None


class ProjectPage(Wire):
    """``GET /api/projects``: one page."""

    count: int
    next: str | None = None
    results: list[Project]


class Prediction(Wire):
    id: int
    task: int
    result: list[dict[str, Any]] = Field(default_factory=list)
    model_version: str | None = None
    score: float | None = None
    created_at: str | None = None
    updated_at: str | None = None


class Annotation(Wire):
    id: int
    task: int | None = None
    result: list[dict[str, Any]] = Field(default_factory=list)
    was_cancelled: bool = False
    ground_truth: bool = False
    completed_by: Any = None
    created_at: str | None = None
    updated_at: str | None = None


class Task(Wire):
    """A task of ``GET /api/tasks`` (``fields=task_only`` leaves annotations/predictions out)."""

    id: int
    data: dict[str, Any] = Field(default_factory=dict)
    meta: dict[str, Any] | None = None
    total_annotations: int | None = None
    cancelled_annotations: int | None = None
    total_predictions: int | None = None
    is_labeled: bool | None = None
    annotations: list[Annotation] | None = None
    predictions: list[Prediction] | None = None
    updated_at: str | None = None


class TaskPage(Wire):
    """``GET /api/tasks``: ``total`` tasks in the project (after filters), this page's ``tasks``."""

    total: int
    tasks: list[Task]


class FileUpload(Wire):
    """``GET /api/projects/{id}/file-uploads``: ``file`` is the stored path below ``/data/``."""

    id: int
    file: str
    size: int | None = None


class FileImport(Wire):
    """``POST /api/projects/{id}/import?commit_to_project=false`` (files stored, no tasks made)."""

    file_upload_ids: list[int]


class TaskImport(Wire):
    """``POST /api/projects/{id}/import?return_task_ids=true`` (a JSON list of tasks)."""

    task_count: int = 0
    task_ids: list[int]


class PredictionImport(Wire):
    """``POST /api/projects/{id}/import/predictions``."""

    created: int


class AccessToken(Wire):
    """``POST /api/token/refresh/``."""

    access: str


class Summary(Wire):
    """``GET /api/projects/{id}/summary/``: ``created_labels`` is ``{control: {label: count}}``."""

    created_labels: dict[str, dict[str, int]]
    created_annotations: dict[str, int] = Field(default_factory=dict)


class ActionResult(Wire):
    """``POST /api/dm/actions``."""

    processed_items: int
    detail: str | None = None
