"""Every client route of TensorBay behind a fault-injecting proxy: each unusable answer ends in
exit 1 with one ``Error:`` line (never a traceback, never exit 3), and nothing local changes.

``plan`` (and ``apply`` for the routes only apply reads), ``status`` and ``pull`` each meet the
faults on the routes they read. A route's answer is checked by the one parser
(:func:`labelsync.providers.answers.parse_answer`), so the route-independent faults (not
JSON: HTML, truncated, empty) and the route's own shape (``null``, a list, keys missing, a
huge ``totalCount``, bad items) are what each route gets; ``text`` and ``nulls`` once.

One emulator and proxy serve the module; the CLI runs in-process (``tests/support/inproc.py``).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from labelsync.cli import main
from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import create_app
from tests.support.fault_proxy import FaultProxy
from tests.support.inproc import assert_one_line, run, snapshot
from tests.support.repo import TOKEN_ENV, box, write_repo
from tests.support.tensorbay import TOKEN

API = "/gatewayv2/tensorbay-open-api/v1/datasets"
SHAPES = ("html", "truncated", "empty", "null", "list", "missing")
PAGED = ("huge_total", "bad_items")
ROUTES = {
    "find dataset": (rf"{API}$", ("text", "bad_items")),
    "read dataset": (rf"{API}/[^/]+$", ("nulls",)),
    "branches": (rf"{API}/[^/]+/branches$", ("bad_items",)),
    "drafts": (rf"{API}/[^/]+/drafts$", PAGED),
    "notes": (rf"{API}/[^/]+/notes$", ()),
    "catalog": (rf"{API}/[^/]+/labels/catalogs$", ()),
    "segments": (rf"{API}/[^/]+/segments$", PAGED),
    "details": (rf"{API}/[^/]+/data/details$", PAGED),
    "policies": (rf"{API}/[^/]+/policies$", ()),
}
GETS = [(route, fault) for route, (_, extra) in ROUTES.items() for fault in SHAPES + extra]
WRITES = {
    "create dataset": ("POST", rf"{API}$"),
    "open draft": ("POST", rf"{API}/[^/]+/drafts$"),
    "create segment": ("POST", rf"{API}/[^/]+/segments$"),
    "put catalog": ("PUT", rf"{API}/[^/]+/labels/catalogs$"),
    "register files": ("PUT", rf"{API}/[^/]+/multi/callback$"),
    "commit": ("POST", rf"{API}/[^/]+/commits$"),
}
POST_FAULTS = ("drop", "html", "missing")
LOOKED_FOR = ("create dataset", "open draft", "commit")
"""Writes not safe to repeat: after an ambiguous answer apply looks for their effect, so
even a fault on every answer converges. The others are repeated: a fault on the first answer
converges, one on every answer is one line (and a re-run finishes)."""
READERS = {"status": ("find dataset", "read dataset", "branches", "drafts"), "pull": ("read dataset", "segments", "details")}
READS = [(command, route, fault) for command, routes in READERS.items() for route in routes for fault in ("truncated", "missing")]
_names = itertools.count()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultProxy]:
    state = tmp_path_factory.mktemp("tb-state")
    with EmbeddedServer(create_app(state, tokens=[TOKEN])) as server:
        p = FaultProxy(server.url).serve()
        yield p
        p.stop()


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("LABELSYNC_HTTP_RETRIES", "0")  # test_bad_answer_to_a_get_is_asked_again retries


@pytest.fixture(scope="module")
def applied(proxy: FaultProxy, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository applied once (``status`` and ``pull`` read it)."""
    root = write_repo(tmp_path_factory.mktemp("applied") / "repo", proxy.url, {"a.png": b"a" * 64}, labels={"a.png": box()}, name="applied")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(TOKEN_ENV, TOKEN)
        mp.setenv("CI", "true")
        try:
            main(["apply", str(root), "--auto-approve"])
        except SystemExit as exc:
            assert not exc.code
    return root


@pytest.fixture(scope="module")
def planned(applied: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the applied repository, changed: its ``plan`` reads every read route."""
    root = tmp_path_factory.mktemp("planned") / "repo"
    root.mkdir()
    for path in applied.rglob("*"):
        if path.is_file() and ".labelsync" not in path.parts:
            (root / path.relative_to(applied)).parent.mkdir(parents=True, exist_ok=True)
            (root / path.relative_to(applied)).write_bytes(path.read_bytes())
    (root / "data" / "b.png").write_bytes(b"b" * 64)
    (root / "labels.jsonl").write_text("".join(json.dumps({"remotePath": p, "label": box(x=3)}) + "\n" for p in ("a.png", "b.png")))
    return root


def fresh(proxy: FaultProxy, tmp_path: Path) -> Path:
    return write_repo(tmp_path / "repo", proxy.url, {"a.png": b"a" * 64}, labels={"a.png": box()}, name=f"fault{next(_names)}")


@pytest.mark.parametrize(("route", "fault"), GETS, ids=[f"{r}-{f}".replace(" ", "_") for r, f in GETS])
def test_unusable_answer_to_a_read_is_one_line_exit_1(
    proxy: FaultProxy, planned: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], route: str, fault: str
) -> None:
    if route == "policies":  # read by apply alone, before the first upload
        root = fresh(proxy, tmp_path)
        args = ["apply", str(root), "--auto-approve"]
    else:
        root, args = planned, ["plan", str(planned)]
    before = snapshot(root)
    rule = proxy.arm("GET", ROUTES[route][0], fault)
    try:
        code, text = run(args, capsys)
    finally:
        proxy.disarm()
    assert rule.hits >= 1, f"the fault was never reached:\n{text}"
    assert snapshot(root) == before
    assert_one_line(code, text)


@pytest.mark.parametrize(("command", "route", "fault"), READS, ids=[f"{c}-{r}-{f}".replace(" ", "_") for c, r, f in READS])
def test_status_and_pull_meet_unusable_answers_with_one_line(
    proxy: FaultProxy, applied: Path, capsys: pytest.CaptureFixture[str], command: str, route: str, fault: str
) -> None:
    before = snapshot(applied)
    rule = proxy.arm("GET", ROUTES[route][0], fault)
    try:
        code, text = run([command, str(applied)], capsys)
    finally:
        proxy.disarm()
    assert rule.hits >= 1, f"the fault was never reached:\n{text}"
    assert snapshot(applied) == before  # pull wrote nothing
    line = assert_one_line(code, text)
    if command == "status":
        assert line.startswith("Error: applied (tensorbay, remote default): "), text


@pytest.mark.parametrize(("route", "fault"), [(r, f) for r in WRITES for f in POST_FAULTS], ids=lambda v: str(v).replace(" ", "_"))
def test_unusable_answer_to_a_write_converges(
    proxy: FaultProxy, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, route: str, fault: str
) -> None:
    """The write happened and only its (first) answer is unusable: apply looks for its effect
    and finds it (creating, opening, committing), or repeats a write safe to repeat."""
    monkeypatch.setenv("LABELSYNC_HTTP_RETRIES", "1")
    root = fresh(proxy, tmp_path)
    before = snapshot(root)
    method, path = WRITES[route]
    rule = proxy.arm(method, path, fault, times=-1 if route in LOOKED_FOR else 1)
    try:
        code, text = run(["apply", str(root), "--auto-approve"], capsys)
    finally:
        proxy.disarm()
    assert rule.hits >= 1, f"the fault was never reached:\n{text}"
    assert snapshot(root) == before
    assert code == 0, text
    code, text = run(["plan", str(root), "--detailed-exitcode"], capsys)
    assert code == 0, text


def test_bad_answer_to_a_get_is_asked_again(proxy: FaultProxy, planned: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELSYNC_HTTP_RETRIES", "1")
    rule = proxy.arm("GET", ROUTES["segments"][0], "html", times=1)
    try:
        code, text = run(["plan", str(planned)], capsys)
    finally:
        proxy.disarm()
    assert rule.hits == 1 and code == 0, text


@pytest.mark.parametrize("route", ["put catalog", "register files"])  # a created segment's answer is not read
def test_a_repeated_write_whose_answers_stay_unusable_is_one_line(
    proxy: FaultProxy, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    monkeypatch.setenv("LABELSYNC_HTTP_RETRIES", "1")
    root = fresh(proxy, tmp_path)
    before = snapshot(root)
    method, path = WRITES[route]
    rule = proxy.arm(method, path, "html")
    try:
        code, text = run(["apply", str(root), "--auto-approve"], capsys)
    finally:
        proxy.disarm()
    assert rule.hits >= 2, text  # asked again before giving up
    assert snapshot(root) == before
    assert_one_line(code, text)
    code, text = run(["apply", str(root), "--auto-approve"], capsys)  # the fault gone, a re-run finishes
    assert code == 0, text
    code, text = run(["plan", str(root), "--detailed-exitcode"], capsys)
    assert code == 0, text
