"""Labels (import, per file, dataset forms) and the workforce admin moving files through stages."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.deepen.deepen_support import Deepen, images_zip

PROFILE = {"features": {"box": {"attributes": {}, "label_category_ids": ["car", "bus"]}}}
FILES = ["000009.png", "000019.png", "000029.png"]


@pytest.fixture
def ready(dp: Deepen) -> dict[str, Any]:
    return dp.ready(images_zip(FILES), labelling_profile=PROFILE)


def box(file_id: str, category: str = "car", **extra: Any) -> dict[str, Any]:
    return {
        "file_id": file_id,
        "label_type": "box",
        "label_category_id": category,
        "box": [1, 2, 3, 4],
        **extra,
    }


def move(dp: Deepen, dataset_id: str, action: str, **body: Any) -> dict[str, Any]:
    response = dp.admin.post(f"/datasets/{dataset_id}/workforce", json={"action": action, **body})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_import_labels_then_read_both_forms(dp: Deepen, ready: dict[str, Any]) -> None:
    ident = ready["dataset_id"]
    placeholder = {"create_time_millis": "null", "version": "null", "dataset_id": "", "stage_id": "Labelling"}
    imported = dp.api.post(
        f"/datasets/{ident}/labels?labelSetId=default",
        json={
            "type": "json",
            "labels": [box(FILES[0], label_id="car:7", **placeholder), box(FILES[0]), box(FILES[1], "bus")],
        },
    )
    assert imported.status_code == 200
    all_labels = dp.api.get(f"/datasets/{ident}/labels").json()["all_labels"]
    assert [(lab["file_id"], lab["label_id"]) for lab in all_labels] == [
        (FILES[0], "car:7"),
        (FILES[0], "car:8"),
        (FILES[1], "bus:1"),
    ]
    first = all_labels[0]
    assert first["dataset_id"] == ident and first["label_set_id"] == "default"
    assert first["stage_id"] == "Labelling" and first["version"] == 1
    assert isinstance(first["create_time_millis"], int)
    assert first["box"] == [1, 2, 3, 4] and first["attributes"] == {}
    ordered = dp.api.get(f"/datasets/{ident}/labels?labels_with_file_ids_order=true").json()["labels"]
    assert list(ordered) == FILES
    assert [lab["label_id"] for lab in ordered[FILES[0]]] == ["car:7", "car:8"]
    assert ordered[FILES[2]] == []
    # Re-importing the same label id updates it in place.
    dp.api.post(
        f"/datasets/{ident}/labels",
        json={"type": "json", "labels": [box(FILES[0], label_id="car:7", box=[9, 9, 9, 9])]},
    )
    again = dp.api.get(f"/datasets/{ident}/files/{FILES[0]}/labels").json()["labels"]
    assert again[0]["box"] == [9, 9, 9, 9] and again[0]["version"] == 2
    assert again[0]["create_time_millis"] == first["create_time_millis"]
    # Label sets are separate.
    assert dp.api.get(f"/datasets/{ident}/labels?labelSetId=other").json() == {"all_labels": []}


def test_import_validation(dp: Deepen, ready: dict[str, Any]) -> None:
    ident = ready["dataset_id"]
    wrong_type = dp.api.post(f"/datasets/{ident}/labels", json={"type": "csv", "labels": []})
    assert wrong_type.status_code == 400
    unknown_file = dp.api.post(f"/datasets/{ident}/labels", json={"type": "json", "labels": [box("zzz.png")]})
    assert unknown_file.status_code == 400 and "zzz.png" in unknown_file.json()["detail"]
    no_category = dp.api.post(
        f"/datasets/{ident}/labels", json={"labels": [{"file_id": FILES[0], "label_type": "box"}]}
    )
    assert no_category.status_code == 400 and "label_category_id" in no_category.json()["detail"]


def test_per_file_labels_post_replaces(dp: Deepen, ready: dict[str, Any]) -> None:
    ident = ready["dataset_id"]
    url = f"/datasets/{ident}/files/{FILES[1]}/labels"
    assert dp.api.get(url).json() == {"labels": []}
    posted = dp.api.post(url, json={"labels": [box("ignored"), box("ignored", "bus")]})
    assert posted.status_code == 200
    assert [lab["file_id"] for lab in posted.json()["labels"]] == [FILES[1], FILES[1]]
    dp.api.post(url, json={"labels": [box("x", "bus")]})
    assert [lab["label_category_id"] for lab in dp.api.get(url).json()["labels"]] == ["bus"]
    assert dp.api.get(f"/datasets/{ident}/files/nope.png/labels").status_code == 404


def test_filter_existing_categories(dp: Deepen, ready: dict[str, Any]) -> None:
    ident = ready["dataset_id"]
    dp.api.post(f"/datasets/{ident}/labels", json={"labels": [box(FILES[0]), box(FILES[0], "tram")]})
    kept = dp.api.get(f"/datasets/{ident}/labels?filter_existing_categories=true").json()["all_labels"]
    assert [lab["label_category_id"] for lab in kept] == ["car"]


def test_workforce_moves_files_through_labelling_and_qa(dp: Deepen, ready: dict[str, Any]) -> None:
    ident = ready["dataset_id"]
    labelled = dp.admin.post(f"/datasets/{ident}/files/{FILES[0]}/labels", json={"labels": [box(FILES[0])]})
    assert labelled.json()["labels"][0]["labeller_email"] == "workforce@emulator.labelsync"
    state = move(dp, ident, "start", file_ids=[FILES[0]])
    assert (state["current_stage"], state["current_stage_status"]) == ("Labelling", "in_progress")
    assert state["pipeline_stage_status"]["Labelling"]["in_progress"] == 1
    state = move(dp, ident, "submit", file_ids=[FILES[0]], stage_id="Labelling")
    assert state["pipeline_stage_status"]["Labelling"] == {
        "done": 1,
        "failed": 0,
        "in_progress": 0,
        "ready": 2,
        "waiting": 0,
    }
    assert state["pipeline_stage_status"]["QA"] == {
        "done": 0,
        "failed": 0,
        "in_progress": 0,
        "ready": 1,
        "waiting": 2,
    }
    assert state["pipeline_status"] == {"Labelling": 1, "QA": 0, "__ALL_STAGES_DONE": 0, "__TOTAL": 3}
    status = dp.api.get(f"/datasets/{ident}/files/{FILES[0]}").json()["status"]
    assert status == "qa_in_progress"
    state = move(dp, ident, "fail", file_ids=[FILES[1]])
    assert state["pipeline_stage_status"]["Labelling"]["failed"] == 1
    assert dp.api.get(f"/datasets/{ident}/files/{FILES[1]}").json()["status"] == "labelling_failed"
    state = move(dp, ident, "reject", file_ids=[FILES[0]])
    assert state["pipeline_stage_status"]["QA"]["ready"] == 0
    # Wrong-stage guard.
    wrong = dp.admin.post(
        f"/datasets/{ident}/workforce", json={"action": "submit", "file_ids": [FILES[0]], "stage_id": "QA"}
    )
    assert wrong.status_code == 400
    # Every file through both stages.
    move(dp, ident, "submit", stage_id="Labelling")
    final_before = dp.api.get(f"/datasets/{ident}/labels?final=true&labels_with_file_ids_order=true").json()
    assert final_before["labels"][FILES[0]] == []
    state = move(dp, ident, "submit", stage_id="QA")
    assert (state["current_stage"], state["current_stage_status"]) == ("Labelling", "done")
    assert state["pipeline_status"] == {"Labelling": 3, "QA": 3, "__ALL_STAGES_DONE": 3, "__TOTAL": 3}
    assert state["status"] == {"finished": 3}
    assert all(f["status"] == "done" for f in dp.api.get(f"/datasets/{ident}/files").json()["files"])
    final = dp.api.get(f"/datasets/{ident}/labels?final=true&labels_with_file_ids_order=true").json()[
        "labels"
    ]
    assert [lab["label_category_id"] for lab in final[FILES[0]]] == ["car"]
    inspect = dp.admin.get(f"/datasets/{ident}").json()
    assert [f["stage_id"] for f in inspect["files"]] == [None, None, None]


def test_mark_labelling_done_and_admin_complete(dp: Deepen, ready: dict[str, Any]) -> None:
    ident = ready["dataset_id"]
    assert dp.api.post(f"/datasets/{ident}/mark_labelling_done").status_code == 200
    body = dp.api.get(f"/datasets/{ident}").json()
    assert body["current_stage_status"] == "done"
    assert body["pipeline_status"]["__ALL_STAGES_DONE"] == 3
    other = dp.ready(images_zip(FILES))
    assert dp.admin.post(f"/datasets/{other['dataset_id']}/complete").json()["current_stage_status"] == "done"


def test_bulk_labels_of_dataset_ids(dp: Deepen, ready: dict[str, Any]) -> None:
    ident = ready["dataset_id"]
    dp.api.post(f"/datasets/{ident}/labels", json={"labels": [box(FILES[2])]})
    bulk = dp.api.post(
        "/clients/client1/labels_of_dataset_ids?labelSetId=default", json={"dataset_ids": [ident]}
    )
    assert [(lab["dataset_id"], lab["file_id"]) for lab in bulk.json()["labels"]] == [(ident, FILES[2])]
    assert (
        dp.api.post("/clients/elsewhere/labels_of_dataset_ids", json={"dataset_ids": [ident]}).status_code
        == 404
    )


def test_process_now_skips_the_wait(dp: Deepen) -> None:
    data = images_zip(FILES)
    dataset = dp.create(len(data))
    dp.upload(dataset["files"][0]["resumable_upload_url"], data)
    dp.process(dataset)
    body = dp.admin.post(f"/datasets/{dataset['dataset_id']}/process_now").json()
    assert body["processing_status"] == "files_getting_labelled"
