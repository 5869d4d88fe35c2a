"""The engine drives a provider's session: phase order, resume skip, counts, close always.

A recording session stands in for a provider here (the providers' own sessions are tested
end to end against their emulators in tests/integration and tests/providers)."""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from labelsync.engine.apply import apply_dataset
from labelsync.errors import ConflictError, UsageError
from labelsync.plan.model import Action, BlobTransfer, Change, DatasetPlan, FileChange, Kind, LabelState
from labelsync.providers.session import (
    ApplyOptions,
    Finished,
    NullEvents,
    Opened,
    TransferReport,
    provider_options,
)
from labelsync.state import Blob, Item

A, B, C = Blob("a" * 40, 3), Blob("b" * 40, 5), Blob("c" * 40, 7)


@dataclass
class Recording:
    held: Mapping[str, Mapping[str, Item]] = field(default_factory=dict)
    fail_on: str | None = None
    better: BaseException | None = None
    calls: list[Any] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    reuses_content: bool = True

    def open(self) -> Opened:
        self.calls.append("open")
        return Opened(resumed=bool(self.held), held=self.held)

    def put(self, change: Change) -> str | None:
        self.calls.append(("put", change.kind.value))
        if self.fail_on == change.kind.value:
            raise ConflictError("refused")
        return None

    def transfer(self, segment: str, files: Sequence[FileChange], blobs: Sequence[BlobTransfer], report: TransferReport) -> Finished:
        self.calls.append(("transfer", segment, sorted(b.checksum[0] for b in blobs)))
        for blob in blobs:
            report.sent(blob.size)
            report.stored(blob.checksum)
        return Finished()

    def register_batch(self, segment: str, labels: bool) -> int:
        return 2

    def register(self, segment: str, changes: Sequence[Change]) -> None:
        self.calls.append(("register", segment, [c.after.remote_path for c in changes]))

    def delete(self, change: Change) -> None:
        self.calls.append(("delete", change.kind.value))

    def commit(self, message: str, source: Mapping[str, str]) -> str:
        self.calls.append("commit")
        return "c1"

    def close(self, error: BaseException | None) -> BaseException | None:
        self.calls.append(("close", type(error).__name__ if error else None))
        return self.better


def file(path: str, blob: Blob, *, send: bool = True) -> Change:
    f = FileChange(path, blob, source=f"data/{path}", send=(blob.checksum,) if send else ())
    return Change(Action.CREATE, Kind.FILE, f"dataset.d/segment.s/file.{path}", segment="s", after=f, upload_bytes=blob.size if send else 0)


PLAN = DatasetPlan(
    "d", "r", "p", "normal", "base", "sha256:" + "0" * 64,
    changes=(
        Change(Action.DELETE, Kind.FILE, "dataset.d/segment.s/file.old", segment="s", before=Item("old", C)),
        file("x", A),
        Change(Action.UPDATE, Kind.LABEL, "dataset.d/segment.s/label.y", segment="s", before=LabelState(), after=FileChange("y", B, label={"BOX2D": []})),
        Change(Action.CREATE, Kind.SENSOR, "dataset.d/segment.s/sensor.cam", segment="s", after={"name": "cam"}),
        Change(Action.CREATE, Kind.SEGMENT, "dataset.d/segment.s", segment="s", after={}),
        file("same-as-x", A, send=False),
        file("z", C, send=False),
        Change(Action.UPDATE, Kind.NOTES, "dataset.d/notes", after={}),
        Change(Action.UPDATE, Kind.CATALOG, "dataset.d/catalog", after={"BOX2D": {}}),
    ),
)


def test_changes_run_in_phase_order_and_the_results_are_counted() -> None:
    session = Recording()
    result = apply_dataset(session, PLAN, ApplyOptions(root=Path(".")), NullEvents())
    files = [c for c in session.calls if c[0] == "register" and c[2] != ["y"]]
    assert sorted(p for c in files for p in c[2]) == ["same-as-x", "x", "z"]
    assert all(len(c[2]) <= 2 for c in files)  # in batches of register_batch()
    calls = [c for c in session.calls if c not in files]
    assert calls == [
        "open",
        ("put", "catalog"), ("put", "notes"), ("put", "segment"), ("put", "sensor"),
        ("transfer", "s", ["a"]),  # C is on the remote (no change sends it); A is sent once
        ("register", "s", ["y"]),  # the label-only change, after the files
        ("delete", "file"),
        "commit",
        ("close", None),
    ]
    assert (result.revision, result.files_registered, result.files_uploaded, result.bytes_uploaded) == ("c1", 3, 1, 3)
    assert result.not_sent == (
        "1 file(s) with the same content as another file of the plan, sent once",
        "1 file(s) whose content the remote already holds",
    )


def test_what_a_resumed_session_holds_is_skipped() -> None:
    session = Recording(held={"s": {"x": Item("x", A), "z": Item("z", Blob("c" * 40, 99))}})
    result = apply_dataset(session, PLAN, ApplyOptions(root=Path(".")), NullEvents())
    registered = sorted(p for c in session.calls if c[0] == "register" for p in c[2])
    assert registered == ["same-as-x", "y", "z"]  # x is held exactly; z is held with other content
    assert result.resumed


def test_a_failure_closes_the_session_which_may_name_a_clearer_error() -> None:
    session = Recording(fail_on="notes", better=ConflictError("another apply took over the draft"))
    with pytest.raises(ConflictError, match="took over"):
        apply_dataset(session, PLAN, ApplyOptions(root=Path(".")), NullEvents())
    assert session.calls[-1] == ("close", "ConflictError")
    assert "commit" not in session.calls


def test_provider_options_are_checked_by_the_provider() -> None:
    known = {"wait": (bool,), "timeout": (int, float)}
    assert provider_options(ApplyOptions(root=Path("."), provider_options={"timeout": 5}), "Deepen", known) == {"timeout": 5}
    with pytest.raises(UsageError, match="Deepen has no apply option 'tag'"):
        provider_options(ApplyOptions(root=Path("."), provider_options={"tag": "v1"}), "Deepen", known)
    with pytest.raises(UsageError, match="'timeout' must be int or float"):
        provider_options(ApplyOptions(root=Path("."), provider_options={"timeout": True}), "Deepen", known)


def test_providers_do_not_import_the_engine() -> None:
    root = Path(__file__).resolve().parents[2] / "labelsync" / "providers"
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.relative_to(root)}: {n}" for n in names if n == "labelsync.engine" or n.startswith("labelsync.engine.")]
    assert offenders == []


class Paced:
    """A transfer that reports its blobs from another thread, a few at a time, counting
    how often the engine's loop came round (``tick``)."""

    def __init__(self, blobs: Sequence[BlobTransfer], report: TransferReport) -> None:
        import threading
        import time

        self.ticks = 0

        def run() -> None:
            for i, blob in enumerate(blobs):
                report.sent(blob.size)
                report.stored(blob.checksum)
                if i % 50 == 49:
                    time.sleep(0.005)

        self.thread = threading.Thread(target=run)
        self.thread.start()

    def done(self) -> bool:
        return not self.thread.is_alive()

    def tick(self) -> None:
        self.ticks += 1

    def stop(self) -> None:
        pass

    def wait(self) -> None:
        self.thread.join()


def test_stored_blobs_are_collected_in_bulk_not_one_wake_up_each() -> None:
    n = 3000
    blobs = [Blob(f"{i:040x}", 1) for i in range(n)]
    plan = DatasetPlan("d", "r", "p", "normal", "base", "sha256:" + "0" * 64, changes=tuple(file(f"f{i}", b) for i, b in enumerate(blobs)))
    transfers: list[Paced] = []

    class Session(Recording):
        def transfer(self, segment: str, files: Sequence[FileChange], blobs: Sequence[BlobTransfer], report: TransferReport) -> Paced:
            transfers.append(Paced(blobs, report))
            return transfers[-1]

        def register_batch(self, segment: str, labels: bool) -> int:
            return 200

    session = Session()
    result = apply_dataset(session, plan, ApplyOptions(root=Path(".")), NullEvents())
    registered = [p for c in session.calls if c[0] == "register" for p in c[2]]
    assert sorted(registered) == sorted(f"f{i}" for i in range(n)) and result.files_uploaded == n
    assert transfers[0].ticks < n / 10, transfers[0].ticks  # one loop per poll, not per blob
