"""Every client route of TensorBay behind a fault-injecting proxy: each unusable answer ends in
exit 1 with one ``Error:`` line (never a traceback, never exit 3), and nothing local changes.

The CLI runs in-process (``labelsync.cli.main``) so the suite stays fast; the proxy and the
emulator are real loopback HTTP servers (``tests/support/fault_proxy.py``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from labelsync.cli import main
from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import create_app
from tests.support.fault_proxy import FaultProxy
from tests.support.repo import TOKEN_ENV, box, write_repo
from tests.support.tensorbay import TOKEN

API = "/gatewayv2/tensorbay-open-api/v1/datasets"
SHAPES = ("html", "text", "empty", "truncated", "null", "list", "missing", "nulls")
GETS = {
    "find dataset": (rf"{API}$", SHAPES + ("bad_items",)),
    "read dataset": (rf"{API}/[^/]+$", SHAPES),
    "branches": (rf"{API}/[^/]+/branches$", SHAPES + ("bad_items",)),
    "drafts": (rf"{API}/[^/]+/drafts$", SHAPES + ("huge_total", "bad_items")),
    "notes": (rf"{API}/[^/]+/notes$", SHAPES),
    "catalog": (rf"{API}/[^/]+/labels/catalogs$", SHAPES),
    "segments": (rf"{API}/[^/]+/segments$", SHAPES + ("huge_total", "bad_items")),
    "details": (rf"{API}/[^/]+/data/details$", SHAPES + ("huge_total", "bad_items")),
    "policies": (rf"{API}/[^/]+/policies$", SHAPES),
}
POST_FAULTS = ("drop", "html", "truncated", "null", "missing")
POSTS = {
    "create dataset": (rf"{API}$", POST_FAULTS),
    "open draft": (rf"{API}/[^/]+/drafts$", POST_FAULTS),
    "commit": (rf"{API}/[^/]+/commits$", POST_FAULTS),
}
CASES = [("GET", route, fault) for route, (_, faults) in GETS.items() for fault in faults] + [
    ("POST", route, fault) for route, (_, faults) in POSTS.items() for fault in faults
]
_names = itertools.count()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultProxy]:
    state = tmp_path_factory.mktemp("tb-state")
    with EmbeddedServer(create_app(state, tokens=[TOKEN])) as server:
        p = FaultProxy(server.url).serve()
        yield p
        p.stop()


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    else:  # pragma: no cover - main always exits
        code = 0
    out = capsys.readouterr()
    return code, out.out + out.err


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".labelsync" not in p.parts
    }


@pytest.fixture(scope="module")
def planned(proxy: FaultProxy, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository applied once, then changed: its ``plan`` reads every read route."""
    root = write_repo(tmp_path_factory.mktemp("shared") / "repo", proxy.url, {"a.png": b"a" * 64}, labels={"a.png": box()}, name="shared")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(TOKEN_ENV, TOKEN)
        mp.setenv("CI", "true")
        try:
            main(["apply", str(root), "--auto-approve"])
        except SystemExit as exc:
            assert not exc.code
    (root / "data" / "b.png").write_bytes(b"b" * 64)
    (root / "labels.jsonl").write_text("".join(json.dumps({"remotePath": p, "label": box(x=3)}) + "\n" for p in ("a.png", "b.png")))
    return root


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("LABELSYNC_HTTP_RETRIES", "1")


def assert_one_line(code: int, text: str) -> None:
    errors = [line for line in text.splitlines() if line.startswith("Error:")]
    assert code == 1, text
    assert "Traceback" not in text, text
    assert len(errors) == 1, text
    assert "unusable answer" in errors[0], text


@pytest.mark.parametrize(("method", "route", "fault"), CASES, ids=[f"{m}-{r}-{f}".replace(" ", "_") for m, r, f in CASES])
def test_unusable_answer_is_one_line_exit_1(
    proxy: FaultProxy, planned: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], method: str, route: str, fault: str
) -> None:
    path = (GETS if method == "GET" else POSTS)[route][0]
    if route == "policies" or method == "POST":
        root = write_repo(tmp_path / "repo", proxy.url, {"a.png": b"a" * 64}, labels={"a.png": box()}, name=f"fault{next(_names)}")
        args = ["apply", str(root), "--auto-approve"]
    else:
        root, args = planned, ["plan", str(planned)]
    before = snapshot(root)
    rule = proxy.arm(method, path, fault)
    try:
        code, text = run(args, capsys)
    finally:
        proxy.disarm()
    assert rule.hits >= 1, f"the fault was never reached:\n{text}"
    assert snapshot(root) == before
    if method == "POST":
        # the write happened and only its answer is unusable: apply converges on it
        assert code == 0, text
        code, text = run(["plan", str(root), "--detailed-exitcode"], capsys)
        assert code == 0, text
        return
    assert_one_line(code, text)
