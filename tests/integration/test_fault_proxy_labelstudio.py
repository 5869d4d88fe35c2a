"""Every client route of Label Studio behind a fault-injecting proxy in front of a real server:
each unusable answer ends in exit 1 with one ``Error:`` line (never a traceback, never exit 3),
and nothing local changes.

The token is a personal access token, so every command also refreshes it. ``plan`` meets the
faults on the project list, the task pages, the token refresh and both ``/validate/`` routes;
``status`` on the summary, ``pull`` on the task pages with annotations. ``apply`` meets them
on each write and on the reads only apply makes (the project, the stored uploads): a write
labelsync sends once (creating the project, importing tasks or predictions) is not repeated,
and a re-run after the fault is gone finishes with no changes left (checked after two of
the faults: where the fault hits decides what the remote holds, not which fault it is).

The faults are the route-independent ones (HTML with status 200, truncated, empty) and the
wrong shapes (``null``, a list where the object belongs, keys missing; ``nulls`` and bad items
where a route's answer holds them). One server and proxy serve the module; the CLI runs
in-process (``tests/support/inproc.py``).
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from labelsync.providers.labelstudio.client import LabelStudioClient
from labelsync.providers.labelstudio.project import title_for
from tests.providers.labelstudio.conftest import labelstudio  # noqa: F401 - the session's server
from tests.support import labelstudio as support
from tests.support.fault_proxy import FaultProxy
from tests.support.inproc import assert_one_line, run, snapshot
from tests.support.lsrepo import box, image, unique_name, write_repo
from tests.support.repo import TOKEN_ENV

pytestmark = pytest.mark.labelstudio

SHAPES = ("html", "truncated", "empty", "null", "list", "missing")
PROJECT = r"^/api/projects/\d+"
ROUTES = {
    "find projects": ("GET", r"^/api/projects$", None, ("nulls", "bad_items")),
    "tasks": ("GET", r"^/api/tasks$", None, ("nulls", "bad_items")),
    "token refresh": ("POST", r"^/api/token/refresh/$", None, ("nulls",)),
    "validate": ("POST", r"^/api/projects/validate/$", None, ()),
    "validate project": ("POST", rf"{PROJECT}/validate/$", None, ()),
    "summary": ("GET", rf"{PROJECT}/summary/$", None, ("nulls", "bad_items")),
}
NO_BODY = ("validate", "validate project")
"""Routes that answer 204 without a body: an empty answer (or ``{}``) is theirs, a truncated
one is empty too."""
BODY_SHAPES = {
    route: tuple(f for f in SHAPES if f not in ("truncated", "empty", "missing")) if route in NO_BODY else SHAPES for route in ROUTES
}
READERS = {
    "plan": {"find projects": "applied", "tasks": "applied", "token refresh": "applied", "validate": "unapplied", "validate project": "changed"},
    "status": {"find projects": "applied", "summary": "applied", "token refresh": "applied"},
    "pull": {"find projects": "applied", "tasks": "applied", "token refresh": "applied"},
}
READS = [
    (command, route, fault)
    for command, routes in READERS.items()
    for route in routes
    for fault in (BODY_SHAPES[route] + ROUTES[route][3] if command == "plan" or route == "summary" else ("html", "missing"))
]
WRITES = {
    "create project": ("POST", r"^/api/projects$", None),
    "upload files": ("POST", rf"{PROJECT}/import$", "commit_to_project=false"),
    "file uploads": ("GET", rf"{PROJECT}/file-uploads$", None),
    "import tasks": ("POST", rf"{PROJECT}/import$", "return_task_ids"),
    "update project": ("PATCH", rf"{PROJECT}/$", None),
    "read project": ("GET", rf"{PROJECT}/$", None),
    "import predictions": ("POST", rf"{PROJECT}/import/predictions$", None),
}
WRITE_FAULTS = ("html", "truncated", "empty", "null", "list", "missing")
RERUN = ("html", "missing")
"""The faults after which the suite re-runs apply (any fault leaves the same remote state)."""
APPLIES = [(route, fault) for route in WRITES for fault in WRITE_FAULTS]
_names = itertools.count()


@pytest.fixture(scope="module")
def proxy(labelstudio: support.Server) -> Iterator[FaultProxy]:  # noqa: F811
    p = FaultProxy(labelstudio.url).serve()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def pat(labelstudio: support.Server) -> str:  # noqa: F811
    return labelstudio.personal_token()


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch, pat: str) -> None:
    monkeypatch.setenv(TOKEN_ENV, pat)
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("LABELSYNC_HTTP_RETRIES", "0")


def fresh(proxy: FaultProxy, root: Path, *, labels: dict | None = None) -> Path:
    files = {"a.png": image(1), "b.png": image(2)}
    return write_repo(root, proxy.url, files, labels={"a.png": box()} if labels is None else labels, name=unique_name("fault"))


def cli_ok(args: list[str]) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CI", "true")
        from labelsync.cli import main

        try:
            main(args)
        except SystemExit as exc:
            assert not exc.code, args


@pytest.fixture(scope="module")
def repos(proxy: FaultProxy, pat: str, labelstudio: support.Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:  # noqa: F811
    """``applied``: applied, one task annotated by a person and pulled (so ``plan`` reads every
    task page with annotations, and ``pull`` and ``status`` have something to read);
    ``changed``: a copy with one more category (``plan`` asks the project's ``/validate/``);
    ``unapplied``: never applied (``plan`` asks ``/validate/`` without a project)."""
    base = tmp_path_factory.mktemp("ls-fault")
    applied = fresh(proxy, base / "applied")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(TOKEN_ENV, pat)
        cli_ok(["apply", str(applied), "--auto-approve"])
        with LabelStudioClient(labelstudio.url, labelstudio.legacy_token) as client:
            name = json.loads((applied / "dataset.yaml").read_text())["metadata"]["name"]
            project = client.find_project(title_for(name))
            assert project is not None
            tasks = {t.data["remotePath"]: t for t in client.iter_tasks(project.id, fields="all")}
            result = tasks["a.png"].predictions[0].result  # type: ignore[index]
            client.call("POST", f"api/tasks/{tasks['b.png'].id}/annotations/", what="annotate", json={"result": result})
        cli_ok(["pull", str(applied)])
    changed = base / "changed"
    shutil.copytree(applied, changed, ignore=shutil.ignore_patterns(".labelsync"))
    manifest = json.loads((changed / "dataset.yaml").read_text())
    manifest["spec"]["catalog"]["BOX2D"]["categories"].append({"name": "bus"})
    (changed / "dataset.yaml").write_text(json.dumps(manifest, indent=1))
    unapplied = fresh(proxy, base / "unapplied")
    return {"applied": applied, "changed": changed, "unapplied": unapplied}


def faulted(
    proxy: FaultProxy, route: tuple[str, str, str | None], fault: str, args: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    method, path, query = route
    rule = proxy.arm(method, path, fault, query=query)
    try:
        code, text = run(args, capsys)
    finally:
        proxy.disarm()
    assert rule.hits >= 1, f"the fault was never reached:\n{text}"
    return code, text


@pytest.mark.parametrize(("command", "route", "fault"), READS, ids=[f"{c}-{r}-{f}".replace(" ", "_") for c, r, f in READS])
def test_unusable_answer_to_a_read_is_one_line_exit_1(
    proxy: FaultProxy, repos: dict[str, Path], capsys: pytest.CaptureFixture[str], command: str, route: str, fault: str
) -> None:
    root = repos[READERS[command][route]]
    before = snapshot(root)
    method, path, query, _ = ROUTES[route]
    code, text = faulted(proxy, (method, path, query), fault, [command, str(root)], capsys)
    assert snapshot(root) == before  # pull wrote nothing
    assert_one_line(code, text)


@pytest.mark.parametrize(("route", "fault"), APPLIES, ids=[f"{r}-{f}".replace(" ", "_") for r, f in APPLIES])
def test_unusable_answer_to_apply_is_one_line_and_a_rerun_finishes(
    proxy: FaultProxy, tmp_path: Path, capsys: pytest.CaptureFixture[str], route: str, fault: str
) -> None:
    if route == "import predictions":  # a task without a prediction gets a label: predictions are imported
        root = fresh(proxy, tmp_path / "repo", labels={})
        cli_ok(["apply", str(root), "--auto-approve"])
        (root / "labels.jsonl").write_text(json.dumps({"remotePath": "a.png", "label": box()}) + "\n")
    else:
        root = fresh(proxy, tmp_path / "repo")
    before = snapshot(root)
    code, text = faulted(proxy, WRITES[route], fault, ["apply", str(root), "--auto-approve"], capsys)
    assert snapshot(root) == before
    # an empty upload listing is a usable list that lacks the uploads
    assert_one_line(code, text, contains="not listed" if (route, fault) == ("file uploads", "list") else "unusable answer")
    if fault not in RERUN:
        return
    code, text = run(["apply", str(root), "--auto-approve"], capsys)  # the fault gone, a re-run finishes
    assert code == 0, text
    code, text = run(["plan", str(root), "--detailed-exitcode"], capsys)
    assert code == 0, text
