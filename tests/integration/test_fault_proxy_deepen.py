"""Every client route of Deepen behind a fault-injecting proxy: each unusable answer ends in
exit 1 with one ``Error:`` line (never a traceback, never exit 3), and nothing local changes.

Read routes meet the route-independent faults (HTML with status 200, truncated, empty) and
the route's own shape (``null``, a list where the object belongs, keys missing, bad items in
its lists), through ``plan`` (``pull`` for the file listing); ``status`` and ``pull`` meet
faults on each route they read. A write whose answer is unusable either converges (creating
the dataset, starting processing: apply looks for the effect) or is asked again (saving the
profile, importing labels: safe to repeat), and the apply ends with no changes left.

One emulator and proxy serve the module; the CLI runs in-process (``tests/support/inproc.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from labelsync.cli import main
from labelsync.emulator.deepen import create_app
from labelsync.emulator.runtime import EmbeddedServer
from tests.providers.deepen.conftest import PNG, TOKEN, TOKEN_ENV, box, write_repo
from tests.support.fault_proxy import FaultProxy
from tests.support.inproc import assert_one_line, run, snapshot

API = "/api/v2"
SHAPES = ("html", "truncated", "empty", "null", "list", "missing")
ROUTES = {
    "find dataset": (rf"{API}/clients/[^/]+/datasets_ids$", ("text", "bad_items")),
    "read dataset": (rf"{API}/datasets/[^/]+$", ("nulls", "bad_items")),
    "read profile": (rf"{API}/labelling_profiles/[^/]+$", ("bad_items",)),
    "read labels": (rf"{API}/datasets/[^/]+/labels$", ("bad_items",)),
    "list files": (rf"{API}/datasets/[^/]+/files$", ("bad_items",)),
}
GETS = [(route, fault) for route, (_, extra) in ROUTES.items() for fault in SHAPES + extra]
READERS = {
    "status": ("find dataset", "read dataset", "read profile", "read labels"),
    "pull": ("find dataset", "read dataset", "read labels", "list files"),
}
READS = [(command, route, fault) for command, routes in READERS.items() for route in routes for fault in ("html", "missing")]
POSTS = {
    "create dataset": rf"{API}/clients/[^/]+/datasets$",
    "save profile": rf"{API}/clients/[^/]+/labelling_profiles$",
    "start processing": rf"{API}/datasets/[^/]+/process_uploaded_data$",
    "import labels": rf"{API}/datasets/[^/]+/labels$",
}
POST_FAULTS = ("drop", "html", "missing")
_names = itertools.count()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultProxy]:
    app = create_app(tmp_path_factory.mktemp("deepen-state"), tokens=[TOKEN], processing_seconds=0.05)
    with EmbeddedServer(app) as server:
        p = FaultProxy(server.url).serve()
        yield p
        p.stop()
    app.close()


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("LABELSYNC_HTTP_RETRIES", "0")


def fresh(proxy: FaultProxy, root: Path, name: str | None = None) -> Path:
    files = {"a.png": PNG + b"a", "b.png": PNG + b"b"}
    return write_repo(root, f"{proxy.url}{API}", files, labels={"a.png": box()}, name=name or f"fault{next(_names)}")


@pytest.fixture(scope="module")
def applied(proxy: FaultProxy, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository applied once: ``plan``, ``status`` and ``pull`` read every read route."""
    root = fresh(proxy, tmp_path_factory.mktemp("applied") / "repo", "applied")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(TOKEN_ENV, TOKEN)
        mp.setenv("CI", "true")
        try:
            main(["apply", str(root), "--auto-approve"])
        except SystemExit as exc:
            assert not exc.code
    return root


def faulted(proxy: FaultProxy, method: str, path: str, fault: str, args: list[str], capsys: pytest.CaptureFixture[str], *, times: int = -1) -> tuple[int, str]:
    rule = proxy.arm(method, path, fault, times=times)
    try:
        code, text = run(args, capsys)
    finally:
        proxy.disarm()
    assert rule.hits >= 1, f"the fault was never reached:\n{text}"
    return code, text


@pytest.mark.parametrize(("route", "fault"), GETS, ids=[f"{r}-{f}".replace(" ", "_") for r, f in GETS])
def test_unusable_answer_to_a_read_is_one_line_exit_1(
    proxy: FaultProxy, applied: Path, capsys: pytest.CaptureFixture[str], route: str, fault: str
) -> None:
    command = "pull" if route == "list files" else "plan"
    before = snapshot(applied)
    code, text = faulted(proxy, "GET", ROUTES[route][0], fault, [command, str(applied)], capsys)
    assert snapshot(applied) == before
    assert_one_line(code, text)


@pytest.mark.parametrize(("command", "route", "fault"), READS, ids=[f"{c}-{r}-{f}".replace(" ", "_") for c, r, f in READS])
def test_status_and_pull_meet_unusable_answers_with_one_line(
    proxy: FaultProxy, applied: Path, capsys: pytest.CaptureFixture[str], command: str, route: str, fault: str
) -> None:
    before = snapshot(applied)
    code, text = faulted(proxy, "GET", ROUTES[route][0], fault, [command, str(applied)], capsys)
    assert snapshot(applied) == before  # pull wrote nothing
    line = assert_one_line(code, text)
    if command == "status":
        assert line.startswith("Error: applied (deepen, remote dp): "), text


@pytest.mark.parametrize(("route", "fault"), [(r, f) for r in POSTS for f in POST_FAULTS], ids=lambda v: str(v).replace(" ", "_"))
def test_unusable_answer_to_a_write_converges(
    proxy: FaultProxy, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, route: str, fault: str
) -> None:
    """The write happened and only its (first) answer is unusable: apply finds the effect, or
    repeats a write that is safe to repeat, and leaves no change behind."""
    monkeypatch.setenv("LABELSYNC_HTTP_RETRIES", "1")
    root = fresh(proxy, tmp_path / "repo")
    before = snapshot(root)
    code, text = faulted(proxy, "POST", POSTS[route], fault, ["apply", str(root), "--auto-approve"], capsys, times=1)
    assert snapshot(root) == before
    assert code == 0, text
    code, text = run(["plan", str(root), "--detailed-exitcode"], capsys)
    assert code == 0, text


@pytest.mark.parametrize("route", ["save profile", "import labels"])
def test_a_write_whose_answers_stay_unusable_is_one_line(
    proxy: FaultProxy, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    monkeypatch.setenv("LABELSYNC_HTTP_RETRIES", "1")
    root = fresh(proxy, tmp_path / "repo")
    before = snapshot(root)
    code, text = faulted(proxy, "POST", POSTS[route], "html", ["apply", str(root), "--auto-approve"], capsys)
    assert snapshot(root) == before
    assert_one_line(code, text)
    code, text = run(["apply", str(root), "--auto-approve"], capsys)  # the fault gone, a re-run finishes
    assert code == 0, text
    code, text = run(["plan", str(root), "--detailed-exitcode"], capsys)
    assert code == 0, text
