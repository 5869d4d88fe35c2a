"""What a provider gives the conformance suite: a server over loopback and a dataset maker.

A :class:`Harness` starts the provider's server (its emulator, or a real server), writes a
small labelsync repository whose one dataset uses that server, and reads the remote back
through the server's own API (never through labelsync's client) for the assertions. The
suite (``test_conformance.py``) drives everything else through the real CLI, like a user.

Every dataset the suite makes is one segment ``train`` of images with a ``BOX2D`` catalog
(categories ``car`` and ``bus``); labels are TensorBay label JSON (``docs/labels.md``).
"""

from __future__ import annotations

import hashlib
import json
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tests.support.repo import TOKEN_ENV

PNG = b"\x89PNG\r\n\x1a\n"
CATALOG = {"BOX2D": {"categories": [{"name": "car"}, {"name": "bus"}]}}
SEGMENT = "train"
DATASET = "conf"


def image(i: int, size: int = 256) -> bytes:
    """Distinct bytes for file ``i`` that pass for a PNG image, ``size`` long: the signature and
    an IHDR header saying 64x48 (what ``imagesize`` reads: Label Studio's labels are
    percentages of the image size), then filler."""
    header = PNG + b"\x00\x00\x00\x0dIHDR" + (64).to_bytes(4, "big") + (48).to_bytes(4, "big")
    body = hashlib.sha256(str(i).encode()).digest() * (size // 32 + 1)
    return (header + body)[:size]


def box(category: str = "car", x: int = 1) -> dict[str, Any]:
    """One BOX2D label with integer corners (every provider's wire holds those exactly)."""
    return {"BOX2D": [{"box2d": {"xmin": x, "ymin": 1, "xmax": x + 5, "ymax": 6}, "category": category}]}


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


@dataclass
class Server:
    """A running server: ``url`` is what ``labelsync.yaml`` names; ``app`` the emulator app
    (a :class:`labelsync.emulator.runtime.Knobs`, whose hold can be set while it runs),
    ``None`` for a real server; ``token`` the token it accepts."""

    url: str
    token: str
    app: Any = None

    def hold(self, method: str, path: str, after: int) -> bool:
        """Hold ``method`` requests on paths matching ``path`` after ``after`` of them went
        through, until :meth:`release` (False: this server cannot; see ``Knobs.hold``)."""
        if self.app is None:
            return False
        self.app.hold(method, path, after=after)
        return True

    def holding(self) -> int:
        """How many requests wait at the hold now."""
        return int(self.app.holding) if self.app is not None else 0

    def release(self) -> None:
        if self.app is not None:
            self.app.release()


class Harness(Protocol):
    """One provider's side of the suite."""

    name: str
    """The provider's registry name."""

    kill_files: int
    """How many files (of :attr:`kill_size` bytes) a killed apply uploads."""
    kill_size: int
    kill_hold: tuple[str, str, int] | None
    """Where a killed apply is stopped, deterministically: ``(method, path regex, after)`` of
    the server's upload requests (see :meth:`Server.hold`): the apply is killed once a request
    waits there and :meth:`upload_under_way` says part of the content has arrived. None: the
    server has no such knob."""

    def serve(self, state: Path) -> AbstractContextManager[Server]:
        """Start the server over loopback with its state under ``state``; stop it on exit."""
        ...

    def write_repo(
        self, root: Path, server: Server, files: dict[str, bytes], labels: dict[str, dict[str, Any]], *,
        prune: bool = False, allow_replace: bool = False,
    ) -> Path:
        """``root`` as a repository: ``labelsync.yaml`` (remote ``default`` -> the server, token
        in :data:`TOKEN_ENV`), ``dataset.yaml`` (dataset :data:`DATASET`), ``data/`` and
        ``labels.jsonl``. Called again on the same root, it rewrites all three."""
        ...

    def remote_files(self, server: Server, name: str) -> dict[str, str]:
        """The remote dataset's files: remote path -> SHA-1 of its bytes."""
        ...

    def remote_labels(self, server: Server, name: str) -> dict[str, dict[str, Any]]:
        """The remote labels as TensorBay label JSON, files without labels left out."""
        ...

    def upload_under_way(self, server: Server, name: str) -> bool:
        """True once some, but not all, of a running apply's content has reached the server
        (a server-side observation, never a guess from timing)."""
        ...


def write_files(root: Path, files: dict[str, bytes], labels: dict[str, dict[str, Any]]) -> None:
    """``root/data/<path>`` for each file (the directory replaced) and ``root/labels.jsonl``."""
    data = root / "data"
    if data.exists():
        for old in sorted(data.rglob("*"), reverse=True):
            old.unlink() if old.is_file() else old.rmdir()
    data.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_bytes(content)
    lines = [json.dumps({"remotePath": p, "label": lab}) for p, lab in sorted(labels.items())]
    (root / "labels.jsonl").write_text("".join(line + "\n" for line in lines))


def write_config(root: Path, provider: str, url: str, **settings: str) -> None:
    extra = "".join(f", {k}: {v}" for k, v in settings.items())
    (root / "labelsync.yaml").write_text(
        f"remotes:\n  default: {{provider: {provider}, url: '{url}', tokenEnv: {TOKEN_ENV}{extra}}}\n"
    )


def write_manifest(root: Path, block: dict[str, Any], *, provider: str, prune: bool, allow_replace: bool) -> None:
    spec: dict[str, Any] = {
        "remote": "default",
        provider: block,
        "catalog": CATALOG,
        "segments": [{"name": SEGMENT, "data": {"path": "data"}, "labels": {"path": "labels.jsonl"}}],
        "prune": prune,
    }
    if allow_replace:
        spec["allowReplace"] = True
    manifest = {"apiVersion": "labelsync/v1", "kind": "Dataset", "metadata": {"name": DATASET}, "spec": spec}
    (root / "dataset.yaml").write_text(json.dumps(manifest, indent=1))  # JSON is YAML
