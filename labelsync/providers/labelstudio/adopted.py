"""Label Studio projects labelsync did not make: how ``labelsync import`` reads them.

A dataset whose ``spec.labelstudio`` says ``adopted: true`` is the project of that exact
``title``, made in Label Studio by people (no labelsync marker needed). It is read as
labelsync reads its own projects (:mod:`.live`), with three differences:

* **Controls** (:func:`read_config`): the project's own label config decides the catalog.
  The first control of each tag of :data:`~.config.TAGS` on the image becomes its catalog
  type (a ``Choices`` only when it is not per-region), its ``Label``/``Choice`` values the
  categories (``hint`` the description; brush categories get ``categoryId`` 1, 2, ... in
  order). Any other control (a second one of a tag, per-region attributes, ``TextArea``,
  ``Number``, ...) is not read: :attr:`Controls.skipped` names it (an import warning).
  Results are renamed to labelsync's control names before conversion (:func:`renamed`).
* **Keys** (:func:`keys`): a task without ``data.remotePath`` is keyed in segment
  ``default`` by the file name of its image (``data.<the Image tag's variable>``) without
  the 8-hex prefix Label Studio gives uploads (``/data/upload/3/1a2b3c4d-cat.png`` is
  ``cat.png``); when two tasks would share a name both keep the stored name, and a task
  without an image is not read (counted).
* **Content**: a task without ``data.sha1`` is downloaded and hashed by the provider
  (once per run), so the plan can compare it with the local file.

Apply writes an adopted project as its own (:mod:`.session`), with the project's names: new
and changed tasks get the image in ``data.<image variable>`` too (other data fields stay),
predictions use the project's control names (:func:`outgoing`), the description keeps the
people's text above labelsync's marker and record, and the label config is never rewritten
(a catalog change is a blocked plan: the config is the project's).

Pure: no I/O.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from labelsync.errors import RemoteError
from labelsync.providers.labelstudio import wire
from labelsync.providers.labelstudio.config import IMAGE, TAGS
from labelsync.providers.labelstudio.live import DEFAULT_SEGMENT, Key, by_key

ADOPTED = "adopted"
"""The ``spec.labelstudio`` key (and settings key) of a project labelsync did not make."""
_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-(?=.)")
_BY_TAG = {tag: ctype for ctype, (tag, _) in TAGS.items()}


@dataclass(frozen=True)
class Controls:
    """What labelsync reads of a project's label config (see the module docstring)."""

    image_key: str
    """The task data key the image is in (``$image`` -> ``image``)."""
    image_name: str
    """The name of the ``Image`` tag (results' ``to_name``)."""
    renames: Mapping[str, str]
    """The project's control name -> labelsync's (``label`` -> ``box2d``)."""
    catalog: Mapping[str, Any]
    skipped: tuple[str, ...] = field(default=())


def read_config(xml: str, *, where: str = "the project") -> Controls:
    """The :class:`Controls` of a label config; :class:`RemoteError` when it has no image."""
    try:
        root = ET.fromstring(xml or "<View/>")
    except ET.ParseError as exc:
        raise RemoteError(f"{where}: its label config is not XML ({exc})", hint="fix the label config in Label Studio") from None
    image = next((e for e in root.iter("Image") if e.get("name") and (e.get("value") or "").startswith("$")), None)
    if image is None:
        raise RemoteError(f"{where}: its label config has no <Image name=... value=\"$...\"> tag",
                          hint="labelsync holds image projects only")
    image_name, image_key = str(image.get("name")), str(image.get("value"))[1:]
    renames: dict[str, str] = {}
    catalog: dict[str, Any] = {}
    skipped: list[str] = []
    for element in root.iter():
        ctype = _BY_TAG.get(element.tag)
        name = element.get("name")
        if ctype is None or name is None:
            if element.get("toName") and element.get("name"):
                skipped.append(f"{element.tag} '{element.get('name')}'")
            continue
        if ctype in catalog or element.get("toName") != image_name or (ctype == "CLASSIFICATION" and element.get("perRegion") == "true"):
            skipped.append(f"{element.tag} '{name}'")
            continue
        categories: list[dict[str, Any]] = []
        for child in element:
            value = child.get("value")
            if value is None or child.tag not in ("Label", "Choice"):
                continue
            category: dict[str, Any] = {"name": value}
            if child.get("hint"):
                category["description"] = child.get("hint")
            if ctype == "SEMANTIC_MASK":
                category["categoryId"] = len(categories) + 1
            categories.append(category)
        catalog[ctype] = {"categories": categories}
        renames[name] = TAGS[ctype][1]
    return Controls(image_key=image_key, image_name=image_name, renames=renames, catalog=catalog, skipped=tuple(skipped))


def renamed(results: Iterable[Mapping[str, Any]], controls: Controls) -> list[dict[str, Any]]:
    """``results`` with the project's control names as labelsync's; results of controls
    labelsync does not read are left out."""
    out = []
    for item in results:
        target = controls.renames.get(str(item.get("from_name")))
        if target is not None:
            out.append({**item, "from_name": target, "to_name": IMAGE})
    return out


def outgoing(results: Iterable[Mapping[str, Any]], controls: Controls) -> list[dict[str, Any]]:
    """labelsync's ``results`` with the project's own control and image names (what apply
    writes into an adopted project's predictions)."""
    back = {ours: theirs for theirs, ours in controls.renames.items()}
    return [{**item, "from_name": back.get(str(item.get("from_name")), item.get("from_name")), "to_name": controls.image_name}
            for item in results]


def view(task: wire.Task, controls: Controls) -> wire.Task:
    """``task`` with its annotations' and predictions' results renamed (:func:`renamed`)."""
    annotations = [a.model_copy(update={"result": renamed(a.result, controls)}) for a in task.annotations or []]
    predictions = [p.model_copy(update={"result": renamed(p.result, controls)}) for p in task.predictions or []]
    return task.model_copy(update={"annotations": annotations, "predictions": predictions})


def file_name(image: str) -> str:
    """The stored file name of an image url, without Label Studio's upload prefix."""
    parsed = urlparse(image)
    query = parsed.query
    path = unquote(query.split("d=", 1)[1]) if "d=" in query else unquote(parsed.path)  # local-files: ?d=dir/x.png
    return PurePosixPath(path).name


def keys(tasks: Iterable[wire.Task], controls: Controls) -> tuple[dict[Key, wire.Task], int]:
    """``(tasks by key, tasks without an image)``: labelsync's tasks by their own key, the
    others by their image's file name (see the module docstring)."""
    tasks = sorted(tasks, key=lambda t: t.id)
    out = by_key(tasks)
    theirs: list[tuple[str, wire.Task]] = []
    missing = 0
    for task in tasks:
        if isinstance(task.data.get("remotePath"), str) and task.data["remotePath"]:
            continue
        image = task.data.get(controls.image_key)
        name = file_name(image) if isinstance(image, str) else ""
        if not name:
            missing += 1
            continue
        theirs.append((name, task))
    short = Counter(_UPLOAD_PREFIX.sub("", name) for name, _ in theirs)
    for name, task in theirs:
        stripped = _UPLOAD_PREFIX.sub("", name)
        out.setdefault((DEFAULT_SEGMENT, stripped if short[stripped] == 1 else name), task)
    return out, missing


def image_of(task: wire.Task, controls: Controls | None) -> str | None:
    """Where a task's image is (``data.image`` for labelsync's tasks)."""
    value = task.data.get(controls.image_key if controls is not None and "remotePath" not in task.data else "image")
    return value if isinstance(value, str) and value else None


def dataset_name(title: str) -> str:
    """A dataset name (``[A-Za-z0-9][A-Za-z0-9_.-]*``, 128 characters at most) for a project title."""
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "-", title).strip("-_.")
    return (name or "project")[:128]
