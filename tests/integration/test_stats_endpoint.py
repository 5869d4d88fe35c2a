"""``labelsync stats --remote`` reads TensorBay's label-statistics endpoint when the server
has it (one request instead of listing every item), and lists the labels when it does not
(an older server: the route answers 404). Real CLI, TensorBay emulator over loopback; a
recorder on the server's side proves which requests were made."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import create_app
from tests.support.repo import box, run_cli, write_repo
from tests.support.tensorbay import TOKEN

PNG = b"\x89PNG\r\n\x1a\n"
FILES = {"a.png": PNG + b"a", "b.png": PNG + b"b", "c.png": PNG + b"c"}
CATALOG = {"BOX2D": {"categories": [{"name": "car"}, {"name": "bus"}],
                     "attributes": [{"name": "colour", "enum": ["red", "blue"]}, {"name": "note", "type": "string"}]}}


def coloured(category: str, x: int, colour: str) -> dict:
    label = box(category, x)
    label["BOX2D"][0]["attributes"] = {"colour": colour, "note": f"n{x}"}
    return label


class Server:
    """ASGI middleware on the emulator's side: records every request path; with
    ``statistics=False`` it is a server without the statistics endpoint (404)."""

    def __init__(self, app, *, statistics: bool) -> None:
        self.app, self.statistics = app, statistics
        self.paths: list[str] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            self.paths.append(scope["path"])
            if not self.statistics and scope["path"].endswith("/labels/statistics"):
                body = json.dumps({"code": "PathNotFound", "message": "no such route"}).encode()
                await send({"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": body})
                return None
        return await self.app(scope, receive, send)


@pytest.fixture(params=[True, False], ids=["endpoint", "fallback"])
def server(request, tmp_path: Path) -> Iterator[tuple[Server, str]]:
    recorder = Server(create_app(tmp_path / "emulator-state", tokens=[TOKEN]), statistics=request.param)
    with EmbeddedServer(recorder) as srv:
        yield recorder, srv.url


def test_stats_remote_uses_the_statistics_endpoint_or_lists_the_labels(server, tmp_path: Path) -> None:
    recorder, url = server
    root = tmp_path / "repo"
    write_repo(root, url, FILES, labels={"a.png": coloured("car", 1, "red"), "b.png": coloured("bus", 2, "blue")}, catalog=CATALOG)
    assert run_cli(["apply", ".", "--auto-approve"], root, TOKEN).code == 0
    write_repo(root, url, FILES, labels={"a.png": coloured("car", 1, "blue"), "c.png": coloured("car", 4, "red")}, catalog=CATALOG)

    recorder.paths.clear()
    result = run_cli(["stats", ".", "--remote", "--format", "json"], root, TOKEN)
    assert result.code == 0, result.text
    [entry] = json.loads(result.out)["datasets"]
    listed = [p for p in recorder.paths if p.endswith("/data/details") or "/data" in p.rsplit("/", 1)[-1]]
    if recorder.statistics:
        assert entry["remote_source"] == "statistics"
        [seg] = entry["remote"]["segments"].values()
        assert seg["types"]["BOX2D"]["categories"] == {"car": 1, "bus": 1}
        assert seg["types"]["BOX2D"]["attributes"] == {"colour": {'"red"': 1, '"blue"': 1}, "note": {"*": 2}}
        [local] = entry["local"]["segments"].values()  # summed over segments to line up
        assert local["types"]["BOX2D"]["categories"] == {"car": 2}
        assert not listed, recorder.paths  # no item was listed
        assert sum(p.endswith("/labels/statistics") for p in recorder.paths) == 1
        text = run_cli(["stats", ".", "--remote"], root, TOKEN)
        assert text.out.startswith("dataset ds1 (remote -> local; the remote's label statistics, all segments)\n"), text.text
        assert re.search(r"\n  \(all segments\)  BOX2D bus +1 -> 0 \(-1\)\n", text.out), text.out
        assert "items" not in text.out  # the endpoint does not count items
    else:
        assert entry["remote_source"] == "labels"
        assert entry["remote"]["segments"]["train"]["types"]["BOX2D"]["categories"] == {"car": 1, "bus": 1}
        assert any(p.endswith("/labels/statistics") for p in recorder.paths)  # asked, answered 404
        assert any("/data" in p for p in recorder.paths), recorder.paths  # then listed
        text = run_cli(["stats", ".", "--remote"], root, TOKEN)
        assert "  train  BOX2D bus             1 -> 0 (-1)\n" in text.out, text.out
