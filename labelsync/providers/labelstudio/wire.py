"""Pydantic models of the Label Studio answers labelsync reads (``api/labelstudio.md`` §4).

Only the fields labelsync uses are declared; every other field is ignored (``extra="ignore"``),
so a newer server adding fields changes nothing. Numbers the server may leave ``null`` (counts
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

    count: int = 0
    next: str | None = None
    results: list[Project] = Field(default_factory=list)


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

    total: int = 0
    tasks: list[Task] = Field(default_factory=list)


class FileUpload(Wire):
    """``GET /api/projects/{id}/file-uploads``: ``file`` is the stored path below ``/data/``."""

    id: int
    file: str
    size: int | None = None


class ImportResult(Wire):
    """``POST /api/projects/{id}/import``."""

    task_count: int = 0
    file_upload_ids: list[int] = Field(default_factory=list)
    task_ids: list[int] = Field(default_factory=list)


class Summary(Wire):
    """``GET /api/projects/{id}/summary/``: ``created_labels`` is ``{control: {label: count}}``."""

    created_labels: dict[str, dict[str, int]] = Field(default_factory=dict)
    created_annotations: dict[str, int] = Field(default_factory=dict)


class ActionResult(Wire):
    """``POST /api/dm/actions``."""

    processed_items: int = 0
    detail: str | None = None
