"""``apply --auto-approve`` of a new dataset on a cold tree starts the look-up and the open
beside the hashing, not at its first chunk (cli/overlap_start.py, engine/overlap.py
``Overlap.start``); over loopback against the TensorBay emulator, in a real CLI process."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from labelsync.emulator.runtime import EmbeddedServer, free_port
from labelsync.emulator.tensorbay import create_app
from tests.support.repo import run_cli, write_repo
from tests.support.tensorbay import TOKEN, Remote

HOOK = """
import os, time
from labelsync.local import hashcache

_digest_columns = hashcache.HashCache.digest_columns


def digest_columns(self, files, jobs=4):
    # the hashing waits (5 s at most) for the emulator to have seen the dataset look-up
    flag = os.environ["LS_TEST_LOOKED_UP"]
    deadline = time.monotonic() + 5
    while not os.path.exists(flag) and time.monotonic() < deadline:
        time.sleep(0.01)
    with open(os.environ["LS_TEST_ORDER"], "a") as out:
        out.write("looked-up-first\\n" if os.path.exists(flag) else "hashed-first\\n")
    return _digest_columns(self, files, jobs)


hashcache.HashCache.digest_columns = digest_columns
"""


class FlagAt:
    """Writes ``flag`` at the first request to ``route`` (``GET datasets``: the look-up) and
    records every route."""

    def __init__(self, app: Any, flag: Path, route: str = "GET datasets") -> None:
        self.app, self.flag, self.route, self.routes = app, flag, route, []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            route = f"{scope['method']} {scope['path'].split('/v1/', 1)[-1].lstrip('/')}"
            self.routes.append(route)
            if route == self.route:
                self.flag.touch()
        await self.app(scope, receive, send)


def _hooked(tmp_path: Path, source: str = HOOK) -> dict[str, str]:
    """The environment of a CLI process that runs ``source`` at start-up; its flag files
    (``looked-up``, ``uploaded``) and its ``order`` file are in ``tmp_path``."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(source)
    return {
        "PYTHONPATH": str(hook), "LS_TEST_LOOKED_UP": str(tmp_path / "looked-up"),
        "LS_TEST_UPLOADED": str(tmp_path / "uploaded"), "LS_TEST_ORDER": str(tmp_path / "order"),
    }


def test_a_cold_tree_is_looked_up_and_opened_before_it_is_hashed(tmp_path: Path) -> None:
    app = FlagAt(create_app(tmp_path / "emulator-state", tokens=[TOKEN]), tmp_path / "looked-up")
    with EmbeddedServer(app) as srv:
        files = {f"f{i:02d}.bin": hashlib.sha256(str(i).encode()).digest() * 64 for i in range(40)}
        repo = write_repo(tmp_path / "repo", srv.url, files)
        result = run_cli(["apply", ".", "--auto-approve"], repo, TOKEN, extra_env=_hooked(tmp_path))
        assert result.code == 0, result.text
        assert (tmp_path / "order").read_text().splitlines()[0] == "looked-up-first"
        assert app.routes.count("GET datasets") == 1, app.routes  # the look-up, reused by the plan
        items = Remote(srv.url).items("ds1")
        assert {p: items[p]["checksum"] for p in items} == {p: hashlib.sha1(d).hexdigest() for p, d in files.items()}
        assert len(Remote(srv.url).commits("ds1")) == 1
        assert run_cli(["plan", ".", "--detailed-exitcode"], repo, TOKEN).code == 0


def test_a_missing_data_directory_is_reported_without_a_request(tmp_path: Path) -> None:
    app = FlagAt(create_app(tmp_path / "emulator-state", tokens=[TOKEN]), tmp_path / "looked-up")
    with EmbeddedServer(app) as srv:
        repo = write_repo(tmp_path / "repo", srv.url, {"a.bin": b"a"})
        manifest = json.loads((repo / "dataset.yaml").read_text())
        manifest["spec"]["segments"][0]["data"]["path"] = "missing"
        (repo / "dataset.yaml").write_text(json.dumps(manifest))
        result = run_cli(["apply", ".", "--auto-approve"], repo, TOKEN)
        assert result.code != 0 and "missing" in result.err and "Traceback" not in result.err, result.text
        assert app.routes == [], app.routes  # nothing was looked up, created or locked


def test_bad_credentials_and_an_unreachable_host_show_the_same_first_error_on_a_cold_tree(tmp_path: Path) -> None:
    with EmbeddedServer(create_app(tmp_path / "emulator-state", tokens=[TOKEN])) as srv:
        files = {f"f{i:02d}.bin": bytes([i]) * 4096 for i in range(40)}
        repo = write_repo(tmp_path / "repo", srv.url, files)
        wrong = run_cli(["apply", ".", "--auto-approve"], repo, "Accesskey-" + "c" * 32)
        assert wrong.code == 1 and "Traceback" not in wrong.err, wrong.text
        assert wrong.err.splitlines()[0] == "Error: find dataset 'ds1': HTTP 401 Unauthorized: missing or unknown X-Token", wrong.err
    gone = write_repo(tmp_path / "gone", f"http://127.0.0.1:{free_port()}", files)  # nothing listens there
    unreachable = run_cli(["apply", ".", "--auto-approve"], gone, TOKEN)
    assert unreachable.code == 1 and "Traceback" not in unreachable.err, unreachable.text
    assert unreachable.err.splitlines()[0].startswith("Error: find dataset 'ds1': cannot reach 127.0.0.1:"), unreachable.err


STREAM_HOOK = """
import os, time
from labelsync.local import hashcache, scan

scan.PARALLEL_AFTER = 20  # a tree this large is walked in parallel, and would be hashed there
hashcache.CALLBACK_CHUNK = 16
_hash_files = hashcache.hash_files
_calls = [0]


def hash_files(paths, sizes, jobs=1, **kw):
    # from the second chunk on, the hashing waits (5 s at most) for the first upload
    _calls[0] += 1
    flag = os.environ["LS_TEST_UPLOADED"]
    deadline = time.monotonic() + 5
    while _calls[0] > 1 and not os.path.exists(flag) and time.monotonic() < deadline:
        time.sleep(0.01)
    with open(os.environ["LS_TEST_ORDER"], "a") as out:
        out.write("chunk %d %s\\n" % (_calls[0], "uploaded" if os.path.exists(flag) else "nothing-uploaded"))
    return _hash_files(paths, sizes, jobs, **kw)


hashcache.hash_files = hash_files
"""


def test_a_large_cold_tree_of_a_new_dataset_is_uploaded_before_it_is_all_hashed(tmp_path: Path) -> None:
    # past the parallel walk's threshold a cold tree is hashed inside the scan, all at once; for
    # a new dataset it is hashed in chunks instead, each sent as it comes (engine/overlap.py)
    env = _hooked(tmp_path, STREAM_HOOK)
    order = tmp_path / "order"
    app = FlagAt(create_app(tmp_path / "emulator-state", tokens=[TOKEN]), tmp_path / "uploaded", "POST storage/upload")
    with EmbeddedServer(app) as srv:
        files = {f"d{i % 3}/f{i:03d}.bin": hashlib.sha256(str(i).encode()).digest() * 128 for i in range(100)}
        repo = write_repo(tmp_path / "repo", srv.url, files)
        result = run_cli(["apply", ".", "--auto-approve"], repo, TOKEN, extra_env=env)
        assert result.code == 0, result.text
        chunks = order.read_text().splitlines()
        assert len(chunks) == 7, chunks  # 100 files, 16 at a time: hashed by the cache, not the scan
        assert chunks[0] == "chunk 1 nothing-uploaded" and chunks[1] == "chunk 2 uploaded", chunks
        assert app.routes.count("GET datasets") == 1, app.routes  # the look-up, reused by the plan
        remote = Remote(srv.url)
        items = remote.items("ds1")
        assert {p: items[p]["checksum"] for p in items} == {p: hashlib.sha1(d).hexdigest() for p, d in files.items()}
        assert len(remote.commits("ds1")) == 1
        assert run_cli(["plan", ".", "--detailed-exitcode"], repo, TOKEN).code == 0

        # the dataset exists now: a cold tree (the cache deleted) is hashed inside the scan again
        (repo / ".labelsync" / "cache" / "hashes.sqlite").unlink()
        (repo / "data" / "new.bin").write_bytes(b"new")
        order.unlink()
        again = run_cli(["apply", ".", "--auto-approve"], repo, TOKEN, extra_env=env)
        assert again.code == 0, again.text
        if len(os.sched_getaffinity(0)) > 1:  # the walk is parallel (and hashes) on 2 CPUs or more
            assert not order.exists(), order.read_text()  # no chunk hashed outside the scan
        assert remote.items("ds1")["new.bin"]["checksum"] == hashlib.sha1(b"new").hexdigest()
        assert len(remote.commits("ds1")) == 2
