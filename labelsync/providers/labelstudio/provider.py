"""The Label Studio provider: live state, the apply session, status and pull (``docs/labelstudio.md``).

Live state. The dataset's project is found by its exact title (one request: the project
list answers descriptions and counters too) and must carry labelsync's marker for the
dataset (:mod:`.project`). When its recorded digest is the desired digest and its counters
are the recorded ones, the plan is a proven no-op after that one request. Otherwise every
task is read (1,000 per page; annotations only when the project has any) and becomes an item
(:mod:`.live`), and a catalog change is put to Label Studio's own ``/validate/``: what it
refuses (labels annotations still use) and tasks whose human annotation differs from the
repository's label become :attr:`~labelsync.state.Live.refusals` (blocked plan reasons).
The head (the plan's base) is the project id.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from typing import Any

from labelsync.errors import ConflictError, NotFoundError
from labelsync.manifest.model import NAME_PATTERN as NAME
from labelsync.plan.model import DatasetPlan, Kind
from labelsync.providers.http import client_stats
from labelsync.providers.labelstudio import adopted as A
from labelsync.providers.labelstudio import live as L
from labelsync.providers.labelstudio import wire
from labelsync.providers.labelstudio.client import LabelStudioClient, newest_annotation
from labelsync.providers.labelstudio.config import TAGS, label_config
from labelsync.providers.labelstudio.project import State, counters, marked_for, read_state, title_for
from labelsync.providers.labelstudio.session import LabelStudioSession
from labelsync.providers.session import DEFAULT_JOBS, ApplyEvents, ApplyOptions
from labelsync.state import Blob, Dataset, Desired, Item, Live, Segment

log = logging.getLogger(__name__)

PROVIDER = "labelstudio"


class LabelStudioProvider:
    """:class:`~labelsync.providers.base.Provider` for a Label Studio server."""

    name = PROVIDER

    def __init__(self, client: LabelStudioClient, *, remote: str = "default", jobs: int = DEFAULT_JOBS) -> None:
        self.client = client
        self.remote = remote
        self.jobs = jobs

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------------ reading

    def requests(self) -> int:
        """Requests this provider's client sent so far (retries included)."""
        return client_stats(self.client.http).requests

    def find(self, name: str, title_override: str | None) -> wire.Project | None:
        """The project of dataset ``name``; ConflictError for a same-titled project labelsync did not make."""
        title = title_for(name, title_override)
        project = self.client.find_project(title)
        if project is not None and not marked_for(project.description, name):
            raise ConflictError(
                f"Label Studio project {project.id} is titled {title!r} but labelsync did not make it for dataset '{name}'",
                hint="rename that project in Label Studio, or give the dataset another title (spec.labelstudio.title)",
            )
        return project

    def _project_of(self, ds: Dataset) -> tuple[wire.Project | None, A.Controls | None, dict[str, Any]]:
        """``(project, controls, live settings)`` of a desired dataset: labelsync's project
        (``controls`` None), or with ``adopted`` the project of that exact title, read
        through its own label config (:mod:`.adopted`). An adopted title no project has falls
        back to labelsync's project of the dataset (``labelsync import REMOTE NAME`` of a
        dataset labelsync made)."""
        if not ds.settings.get(A.ADOPTED):
            return self.find(ds.name, ds.settings.get("title")), None, dict(ds.settings)
        title = str(ds.settings.get("title") or ds.name)
        project = self.client.find_project(title)
        if project is None:
            return self.find(ds.name, None), None, {}
        return project, A.read_config(project.label_config, where=f"Label Studio project {project.id} ({title!r})"), dict(ds.settings)

    def read_live(self, desired: Desired) -> Live:
        ds = desired.dataset
        started = self.requests()
        project, controls, settings = self._project_of(ds)
        if project is None:
            refusals = self._config_refusals(ds.catalog, None)
            return Live(dataset=None, refusals=refusals, info={"requests": self.requests() - started})
        state = read_state(project.description) or State()
        head = str(project.id)
        # the session writes an adopted project with the project's own names
        remote_id = head if controls is None else f"{A.ADOPTED}:{head}"
        if state.digest is not None and state.proves(desired.digest, project):
            proven = {"requests": self.requests() - started}
            log.info("dataset %s: proven unchanged in %d request(s)", ds.name, proven["requests"])
            return Live(dataset=None, head=head, remote_id=remote_id, recorded_digest=state.digest, complete=False, info=proven)
        tasks = self._tasks(project)
        warnings: list[str] = []
        if controls is not None:
            catalog = dict(controls.catalog)
            keyed, missing = A.keys([A.view(t, controls) for t in tasks], controls)
            warnings = _adoption_warnings(project, controls, keyed, missing)
        else:
            catalog = state.catalog if state.catalog and project.label_config == label_config(state.catalog) else _approximate(project)
            keyed = L.by_key(tasks)
        if dict(ds.catalog) == catalog:
            refusals = ()
        elif controls is not None:
            refusals = (f"the catalog of '{ds.name}' differs from the label config of Label Studio project {project.id}, which "
                        "labelsync adopted and never rewrites: change the config in Label Studio, or the manifest's catalog back",)
        else:
            refusals = self._config_refusals(ds.catalog, project)
        segments, drift = self._segments(ds, keyed, catalog, controls)
        if drift:
            shown = ", ".join(f"{seg}/{path}" for seg, path in drift[:3]) + (" ..." if len(drift) > 3 else "")
            refusals += (
                f"{len(drift)} task(s) hold a human annotation that differs from the repository's label ({shown}): "
                "run `labelsync pull` to bring the annotations into git first (labelsync never overwrites human work)",
            )
        name = ds.name if controls is None or re.fullmatch(NAME, ds.name) else A.dataset_name(project.title)
        dataset = Dataset(
            name=name, provider=PROVIDER, kind=ds.kind, remote=ds.remote, branch=ds.branch,
            settings=settings, catalog=catalog, segments=segments,
        )
        info: dict[str, Any] = {"requests": self.requests() - started}
        if warnings:
            info["warnings"] = warnings
        log.info("dataset %s: read %d task(s) in %d request(s)", ds.name, len(tasks), info["requests"])
        # no recorded digest here: the differ takes a recorded digest equal to the desired one
        # as a proven no-op, and the counters say something changed since it was recorded
        return Live(dataset=dataset, head=head, remote_id=remote_id, refusals=refusals, info=info)

    def _tasks(self, project: wire.Project) -> list[wire.Task]:
        """Every task with its predictions (and annotations when the project has any)."""
        if counters(project)[2]:
            return list(self.client.iter_tasks(project.id, fields="all"))
        return list(self.client.iter_tasks(project.id, fields="all", include="id,data,predictions"))

    def _config_refusals(self, catalog: Mapping[str, Any], project: wire.Project | None) -> tuple[str, ...]:
        xml = label_config(catalog)
        if project is not None and project.label_config == xml:
            return ()
        lines = self.client.validate_config(xml, project.id if project is not None else None)
        return tuple(f"Label Studio refuses the new label config: {line}" for line in lines)

    def _segments(
        self, ds: Dataset, keyed: Mapping[L.Key, wire.Task], catalog: Mapping[str, Any], controls: A.Controls | None
    ) -> tuple[dict[str, Segment], list[L.Key]]:
        """Live segments (every desired segment exists: Label Studio has no segment objects)
        and the keys of tasks whose human annotation differs from the desired label."""
        items: dict[str, dict[str, Item]] = {name: {} for name in ds.segments}
        drift: list[L.Key] = []
        for key, task in keyed.items():
            segment, path = key
            want = ds.segments[segment].items.get(path) if segment in ds.segments else None
            image = A.image_of(task, controls)
            if image is not None:
                self._images[key] = image
            blob = L.blob_of(task) or (self._hash(image) if controls is not None and image is not None else None)
            same = want is not None and blob is not None and want.blob == blob
            label, _, human = L.task_label(
                task, catalog, want.label if same and want else None, _lazy_results(want, catalog) if same else None,
                where=f"task {segment}/{path}",
            )
            if human and want is not None and label != want.label:
                drift.append(key)
            items.setdefault(segment, {})[path] = Item(remote_path=path, blob=blob, label=label)
        segments = {
            name: Segment(name=name, items=found, description=ds.segments[name].description if name in ds.segments else "")
            for name, found in items.items()
        }
        return segments, drift

    @property
    def _images(self) -> dict[L.Key, str]:
        """Where each task's image is, as last read (``read_file``)."""
        images: dict[L.Key, str] = self.__dict__.setdefault("_image_urls", {})
        return images

    def _hash(self, image: str) -> Blob:
        """The identity of a stored image labelsync has no sha1 of (downloaded once per run)."""
        hashes: dict[str, Blob] = self.__dict__.setdefault("_hashes", {})
        if image not in hashes:
            data = self.client.download(image)
            hashes[image] = Blob(hashlib.sha1(data).hexdigest(), len(data))
        return hashes[image]

    def read_file(self, dataset: Dataset, segment: str, remote_path: str) -> bytes:
        """The bytes of a task's image, as :meth:`read_live` last listed it (``labelsync import
        --with-data``)."""
        image = self._images.get((segment, remote_path))
        if image is None:
            raise NotFoundError(f"segment '{segment}' of dataset '{dataset.name}' holds no file {remote_path!r}",
                                hint="read the dataset again; it may have changed meanwhile")
        return self.client.download(image)

    def tag_problem(self, live: Live, name: str, tag: str) -> str | None:
        return None  # Label Studio has no tags: planning never asks (not versioned)

    # ------------------------------------------------------------------ writing

    def session(self, plan: DatasetPlan, options: ApplyOptions, events: ApplyEvents) -> LabelStudioSession:
        return LabelStudioSession(self.client, plan, options, events, jobs=self.jobs)

    # ------------------------------------------------------------------ status / pull

    def status(self, desired: Desired) -> dict[str, Any]:
        """The project's counters and its annotations per label (``summary``)."""
        ds = desired.dataset
        project, _, _ = self._project_of(ds)
        if project is None:
            return {"exists": False, "in_sync": False}
        state = read_state(project.description) or State()
        summary = self.client.summary(project.id)
        tasks, predictions, _ = counters(project)
        return {
            "exists": True,
            "id": project.id,
            "title": project.title,
            "tasks": tasks,
            "annotated": project.num_tasks_with_annotations or 0,
            "finished": project.finished_task_number or 0,
            "skipped": project.skipped_annotations_number or 0,
            "annotations": project.total_annotations_number or 0,
            "predictions": predictions,
            "labels": summary.created_labels,
            # a proven digest means nothing changed since labelsync's apply; otherwise the
            # status command compares the content
            "in_sync": True if state.digest is not None and state.proves(desired.digest, project) else None,
        }

    def pull_labels(self, desired: Desired) -> dict[str, dict[str, Any]]:
        """The newest human annotation of each annotated task, per segment per remote path.
        Tasks without one are left out, so their local labels stay."""
        ds = desired.dataset
        project, controls, _ = self._project_of(ds)
        if project is None:
            raise NotFoundError(f"dataset '{ds.name}' has no Label Studio project", hint="apply it first")
        state = read_state(project.description) or State()
        catalog = dict(controls.catalog) if controls is not None else state.catalog or dict(ds.catalog)
        out: dict[str, dict[str, Any]] = {}
        if not counters(project)[2]:
            return out
        tasks = list(self.client.iter_tasks(project.id, fields="all"))
        keyed = A.keys([A.view(t, controls) for t in tasks], controls)[0] if controls is not None else L.by_key(tasks)
        for (segment, path), task in keyed.items():
            if newest_annotation(task.annotations or []) is None:
                continue
            label, mask, _ = L.task_label(task, catalog, None, None, where=f"annotation of {segment}/{path}")
            out.setdefault(segment, {})[path] = L.remote_label(label, mask)
        return out


def _adoption_warnings(project: wire.Project, controls: A.Controls, keyed: Mapping[L.Key, wire.Task], missing: int) -> list[str]:
    """What ``labelsync import`` does not take from an adopted project (one line each)."""
    out = []
    if controls.skipped:
        out.append(f"Label Studio project {project.id}: labelsync does not read the controls {', '.join(controls.skipped)} "
                   "(one control per label type, no per-region attributes); their results are not imported")
    if missing:
        out.append(f"Label Studio project {project.id}: {missing} task(s) have no image in data.{controls.image_key}; not imported")
    predicted = sum(1 for t in keyed.values() if newest_annotation(t.annotations or []) is None
                    and any(p.model_version != L.MODEL_VERSION for p in t.predictions or []))
    if predicted:
        out.append(f"{predicted} task(s) have only predictions (other models' output), no annotation: imported without a label "
                   "(import takes the newest submitted annotation; the predictions stay in Label Studio)")
    return out


def _lazy_results(want: Item | None, catalog: Mapping[str, Any]) -> Any:
    if want is None or want.source is None:
        return None
    mask = want.masks.get(L.MASK)

    def results() -> list[dict[str, Any]]:
        return L.results_for(want.label, catalog, want.source or "", mask.source if mask else None, where=want.remote_path)

    return results


def _title_override(plan: DatasetPlan) -> str | None:
    create = next((c for c in plan.changes if c.kind is Kind.DATASET), None)
    settings = ((create.after or {}).get("settings") or {}) if create is not None else {}
    title = settings.get("title")
    return title if isinstance(title, str) else None


def _approximate(project: wire.Project) -> dict[str, Any]:
    """The categories of a label config labelsync has no record of (for the plan's 'before')."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(project.label_config or "<View/>")
    except ET.ParseError:
        return {}
    by_control = {control: ctype for ctype, (_, control) in TAGS.items()}
    out: dict[str, Any] = {}
    for element in root.iter():
        ctype = by_control.get(element.get("name") or "")
        if ctype is None:
            continue
        categories = []
        for child in element:
            if child.get("value") is not None:
                category: dict[str, Any] = {"name": child.get("value")}
                if child.get("hint"):
                    category["description"] = child.get("hint")
                categories.append(category)
        out[ctype] = {"categories": categories}
    return out

