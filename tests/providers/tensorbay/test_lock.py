"""The draft lock against the emulator over loopback: takeover races and a draft lost mid-run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import create_app
from labelsync.errors import AuthError, ConflictError
from labelsync.providers.tensorbay.client import TensorBayClient
from labelsync.providers.tensorbay.lock import DraftLock, lock_line

TOKEN = "Accesskey-" + "5" * 32
DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TensorBayClient]:
    with EmbeddedServer(create_app(tmp_path / "tb", tokens=[TOKEN])) as server:
        client = TensorBayClient(server.url, TOKEN)
        yield client
        client.close()


def dead_draft(client: TensorBayClient) -> tuple[str, int]:
    """A dataset whose branch has labelsync's draft, released by a run that is gone."""
    dataset = client.create_dataset("locks", fusion=False)
    number = client.create_draft(dataset, "main", "labelsync apply abc", lock_line("deadrun", "released", DIGEST))
    return dataset, number


def test_a_run_whose_takeover_was_overwritten_stops(client: TensorBayClient) -> None:
    dataset, number = dead_draft(client)
    rival = DraftLock(client, dataset, "main", DIGEST)

    def rival_writes_meanwhile(_: float) -> None:  # the other run writes its line during SETTLE
        client.update_draft(dataset, number, description=lock_line(rival.run, 0, DIGEST))

    mine = DraftLock(client, dataset, "main", DIGEST, sleep=rival_writes_meanwhile)
    with pytest.raises(ConflictError, match="another labelsync apply is writing to branch 'main'"):
        mine.acquire()


def test_a_clean_takeover_resumes_the_draft(client: TensorBayClient) -> None:
    dataset, number = dead_draft(client)
    lock = DraftLock(client, dataset, "main", DIGEST, sleep=lambda _: None)
    assert lock.acquire() == number and lock.resumed
    assert lock.taken_over() is None
    lock.release(committed=False)


def test_a_draft_committed_by_another_run_is_reported_as_such(client: TensorBayClient) -> None:
    dataset, _ = dead_draft(client)
    lock = DraftLock(client, dataset, "main", DIGEST, sleep=lambda _: None)
    number = lock.acquire()
    client.commit(dataset, number, "the other run", "", None)  # another run finished first
    with pytest.raises(AuthError):
        client.put_notes(dataset, number, {"isContinuous": False})
    error = lock.taken_over()
    assert error is not None and f"committed or took over draft #{number}" in error.message
    lock.release(committed=False)


def test_a_run_that_lost_its_draft_does_not_release_the_winners_lock(client: TensorBayClient) -> None:
    dataset, number = dead_draft(client)
    loser = DraftLock(client, dataset, "main", DIGEST, sleep=lambda _: None)
    assert loser.acquire() == number
    client.update_draft(dataset, number, description=lock_line("winner", 3, DIGEST))  # taken over meanwhile
    assert loser.taken_over() is not None
    loser.release(committed=False)
    [draft] = client.open_drafts(dataset, "main")
    assert "run=winner beat=3" in draft["description"]
