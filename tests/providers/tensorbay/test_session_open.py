"""The TensorBay session's ``open`` against the emulator over loopback: a planned dataset is
created in one request; a name taken meanwhile is looked up (resumed into while at its root
commit, refused as a stale plan once committed to)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labelsync.emulator.runtime import EmbeddedServer
from labelsync.emulator.tensorbay import create_app
from labelsync.errors import StalePlanError
from labelsync.plan.model import Action, Change, DatasetPlan, Kind
from labelsync.providers.session import ApplyOptions, NullEvents
from labelsync.providers.tensorbay.client import TensorBayClient
from labelsync.providers.tensorbay.session import TensorBaySession

TOKEN = "Accesskey-" + "6" * 32
PLAN = DatasetPlan(
    "opened", "default", "tensorbay", "normal", None, "sha256:" + "cd" * 32,
    changes=(Change(Action.CREATE, Kind.DATASET, "dataset.opened", after={}),),
)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TensorBayClient]:
    with EmbeddedServer(create_app(tmp_path / "tb", tokens=[TOKEN])) as server:
        client = TensorBayClient(server.url, TOKEN)
        yield client
        client.close()


def session(client: TensorBayClient, tmp_path: Path) -> TensorBaySession:
    return TensorBaySession(client, PLAN, ApplyOptions(root=tmp_path), NullEvents())


def test_a_planned_dataset_is_created_and_its_draft_opened(client: TensorBayClient, tmp_path: Path) -> None:
    s = session(client, tmp_path)
    s.open()
    try:
        assert client.find_dataset("opened")["id"] == s.dataset_id
        assert [d["number"] for d in client.open_drafts(s.dataset_id, "main")] == [s.draft]
    finally:
        s.close(None)


def test_a_name_taken_since_the_plan_is_resumed_into_at_its_root_commit(client: TensorBayClient, tmp_path: Path) -> None:
    existing = client.create_dataset("opened", fusion=False)  # as an interrupted apply leaves it
    s = session(client, tmp_path)
    s.open()
    try:
        assert s.dataset_id == existing and s.draft
    finally:
        s.close(None)


def test_a_name_taken_and_committed_to_since_the_plan_is_a_stale_plan(client: TensorBayClient, tmp_path: Path) -> None:
    existing = client.create_dataset("opened", fusion=False)
    draft = client.create_draft(existing, "main", "someone else")
    client.commit(existing, draft, "theirs", "", None)
    with pytest.raises(StalePlanError, match="created and committed to since the plan was made"):
        session(client, tmp_path).open()
