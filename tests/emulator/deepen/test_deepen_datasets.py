"""Datasets, labelling profiles, auth and errors over loopback; state across restarts."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from labelsync.emulator.deepen import create_app
from labelsync.emulator.runtime import EmbeddedServer, FaultConfig
from tests.emulator.deepen.deepen_support import CLIENT, TOKEN, Deepen, images_zip

PROFILE = {
    "profile_name": "cars",
    "features": {"box": {"attributes": {}, "label_category_ids": ["car", "bus"]}},
    "instructions": {"text": "box every car"},
    "pipeline_spec": [{"stage_id": "Labelling", "can_edit": True}, {"stage_id": "QA", "can_edit": False}],
}


def test_create_returns_dataset_resource(dp: Deepen) -> None:
    body = dp.create(1234, dataset_name="city", tags=["a"], labelling_profile=PROFILE)
    assert len(body["dataset_id"]) == 24 and body["dataset_id"].isalnum()
    assert body["client_id"] == CLIENT
    assert body["dataset_name"] == "city"
    assert body["dataset_type"] == "images"
    assert body["dataset_format"] is None
    assert body["labelling_mode"] == "frame_by_frame"
    assert body["tags"] == ["a"]
    assert body["processing_status"] == "files_to_be_uploaded"
    assert (body["current_stage"], body["current_stage_status"]) == ("FileUpload", "waiting")
    assert body["pipeline_spec"] == PROFILE["pipeline_spec"]
    assert body["pipeline_status"] == {"Labelling": 0, "QA": 0, "__ALL_STAGES_DONE": 0, "__TOTAL": 0}
    zero = {"done": 0, "failed": 0, "in_progress": 0, "ready": 0, "waiting": 0}
    assert body["pipeline_stage_status"] == {"Labelling": zero, "QA": zero}
    assert body["pipeline_status_by_label_set_id"] == {"default": {"Labelling": zero, "QA": zero}}
    assert body["uploaded_files"] == [] and body["frame_sizes"] == []
    assert body["folder_path"] == f"{CLIENT}/defaultproject/{body['dataset_id']}"
    assert isinstance(body["create_timestamp_millis"], int)
    assert dp.api.get(f"/datasets/{body['dataset_id']}").json() == body


def test_create_3d_json_defaults_and_names(dp: Deepen) -> None:
    body = dp.create(10, dataset_type="3d", dataset_format="json", labelling_mode="label_by_label", fps=10)
    assert body["dataset_format"] == "json" and body["fps"] == 10
    assert (
        "name=client1%2F" + body["dataset_id"] + "%2Fjson_data.zip"
        in body["files"][0]["resumable_upload_url"]
    )
    default = dp.create(10, dataset_type="3d")
    assert default["dataset_format"] == "default"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"dataset_name": ""}, "dataset_name"),
        ({"dataset_type": "audio"}, "dataset_type"),
        ({"dataset_type": "3d", "dataset_format": "las"}, "dataset_format"),
        ({"labelling_mode": "fast"}, "labelling_mode"),
        ({"files": []}, "files"),
        ({"files": [{"file_size": -1, "file_type": "application/zip"}]}, "file_size"),
        ({"labelling_profile_id": "missing"}, "labelling_profile_id"),
        ({"labelling_profile": {"features": []}}, "features"),
    ],
)
def test_create_rejects_bad_bodies(dp: Deepen, override: dict[str, object], message: str) -> None:
    body = {
        "dataset_name": "x",
        "dataset_type": "images",
        "files": [{"file_size": 5, "file_type": "application/zip"}],
    }
    response = dp.api.post(f"/clients/{CLIENT}/datasets", json={**body, **override})
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_invalid_json_is_400(dp: Deepen) -> None:
    response = dp.api.post(
        f"/clients/{CLIENT}/datasets", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


def test_profiles_create_list_get_and_use_by_id(dp: Deepen) -> None:
    created = dp.api.post(f"/clients/{CLIENT}/labelling_profiles", json=PROFILE)
    assert created.status_code == 200
    profile_id = created.json()["profile_id"]
    fetched = dp.api.get(f"/labelling_profiles/{profile_id}").json()
    assert fetched["profile_id"] == profile_id
    assert fetched["features"] == PROFILE["features"]
    assert fetched["notification_url"] == "" and fetched["preferences"] == {}
    assert fetched in dp.api.get(f"/clients/{CLIENT}/labelling_profiles").json()["profiles"]
    assert dp.api.get("/clients/elsewhere/labelling_profiles").json() == {"profiles": []}
    missing = dp.api.get("/labelling_profiles/nope")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not found."}
    dataset = dp.create(10, labelling_profile_id=profile_id)
    assert dataset["pipeline_spec"] == PROFILE["pipeline_spec"]


def test_inline_profile_keeps_extra_keys_like_a_fetched_profile(dp: Deepen) -> None:
    profile_id = dp.api.post(f"/clients/{CLIENT}/labelling_profiles", json=PROFILE).json()["profile_id"]
    fetched = dp.api.get(f"/labelling_profiles/{profile_id}").json()
    dataset = dp.create(10, labelling_profile=fetched)
    assert dataset["pipeline_spec"] == PROFILE["pipeline_spec"]


def test_default_pipeline_without_profile(dp: Deepen) -> None:
    dataset = dp.create(10)
    assert [s["stage_id"] for s in dataset["pipeline_spec"]] == ["Labelling", "QA"]


def test_list_forms_and_delete(dp: Deepen) -> None:
    first = dp.create(10, "lister", dataset_name="one")
    second = dp.create(10, "lister", dataset_name="two")
    dp.create(10, "someone-else")
    listing = dp.api.get("/clients/lister/datasets").json()
    assert list(listing) == [first["dataset_id"], second["dataset_id"]]
    assert listing[first["dataset_id"]] == first
    ids = dp.api.get("/clients/lister/datasets_ids").json()
    assert ids == {
        "datasets": [
            {"dataset_id": first["dataset_id"], "dataset_name": "one"},
            {"dataset_id": second["dataset_id"], "dataset_name": "two"},
        ]
    }
    deleted = dp.api.delete(f"/datasets/{first['dataset_id']}")
    assert deleted.status_code == 200
    assert dp.api.get(f"/datasets/{first['dataset_id']}").json() == {"detail": "Not found."}
    assert list(dp.api.get("/clients/lister/datasets").json()) == [second["dataset_id"]]
    assert dp.api.delete(f"/datasets/{first['dataset_id']}").status_code == 404


def test_legacy_colon_id_reads_the_dataset(dp: Deepen) -> None:
    dataset = dp.create(10)
    legacy = dp.api.get(f"/datasets/{CLIENT}:defaultproject:{dataset['dataset_id']}")
    assert legacy.json()["dataset_id"] == dataset["dataset_id"]


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "Authentication credentials were not provided."),
        ({"Authorization": "Token t"}, "Authentication credentials were not provided."),
        ({"Authorization": "Bearer"}, "Invalid token header. No credentials provided."),
        ({"Authorization": "Bearer a b"}, "Invalid token header. Token string should not contain spaces."),
        ({"Authorization": "Bearer wrong"}, "Invalid token."),
    ],
)
def test_auth_errors_are_drf_style(server: EmbeddedServer, headers: dict[str, str], detail: str) -> None:
    response = httpx.get(f"{server.url}/api/v2/clients/{CLIENT}/datasets", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_every_configured_token_works(server: EmbeddedServer) -> None:
    response = httpx.get(
        f"{server.url}/api/v2/clients/nobody/datasets", headers={"Authorization": "Bearer other"}
    )
    assert response.status_code == 200 and response.json() == {}


def test_not_found_and_method_not_allowed(dp: Deepen) -> None:
    assert dp.api.get("/nowhere").json() == {"detail": "Not found."}
    assert dp.api.get("/datasets/nope/files").status_code == 404
    wrong = dp.api.put(f"/clients/{CLIENT}/datasets")
    assert wrong.status_code == 405
    assert wrong.json() == {"detail": 'Method "PUT" not allowed.'}


def test_restart_keeps_state(data_dir: Path) -> None:
    data = images_zip()
    app = create_app(data_dir, tokens=[TOKEN], processing_seconds=0)
    with EmbeddedServer(app) as srv:
        dp = Deepen(srv)
        ready = dp.ready(data, labelling_profile=PROFILE)
        profile_id = dp.api.post(f"/clients/{CLIENT}/labelling_profiles", json=PROFILE).json()["profile_id"]
        half = dp.create(2 * 256 * 1024)
        half_url = half["files"][0]["resumable_upload_url"]
        dp.put(half_url, b"z" * 256 * 1024, f"bytes 0-{256 * 1024 - 1}/{2 * 256 * 1024}")
        dp.close()
    app.close()
    app = create_app(data_dir, tokens=[TOKEN])
    with EmbeddedServer(app) as srv:
        dp = Deepen(srv)
        again = dp.api.get(f"/datasets/{ready['dataset_id']}").json()
        assert again["processing_status"] == "files_getting_labelled"
        assert again["pipeline_status"]["__TOTAL"] == 3
        assert len(dp.api.get(f"/datasets/{ready['dataset_id']}/files").json()["files"]) == 3
        assert dp.api.get(f"/labelling_profiles/{profile_id}").status_code == 200
        # The half-done upload resumes on the new port from the persisted offset.
        new_url = dp.api.get(f"/datasets/{half['dataset_id']}").json()["files"][0]["resumable_upload_url"]
        assert new_url.startswith(srv.url)
        status = dp.put(new_url, b"", "bytes */*")
        assert status.status_code == 308 and status.headers["Range"] == f"bytes=0-{256 * 1024 - 1}"
        dp.close()
    app.close()


def test_injected_faults_have_drf_bodies_and_spare_admin(data_dir: Path) -> None:
    app = create_app(data_dir, tokens=[TOKEN], faults=FaultConfig(fail_rate=1.0, seed=3))
    with EmbeddedServer(app) as srv:
        dp = Deepen(srv)
        for _ in range(6):
            try:
                response = dp.api.get(f"/clients/{CLIENT}/datasets")
            except httpx.TransportError:
                continue
            assert response.status_code in (429, 500, 503)
            assert set(response.json()) == {"detail"}
            if response.status_code == 429:
                assert response.headers["Retry-After"] == "1"
        assert dp.admin.post("/uploads/drop_next", json={"after_bytes": 1}).status_code == 200
        assert app.injected >= 6
        dp.close()
    app.close()


def test_latency_knob(data_dir: Path) -> None:
    import time

    app = create_app(data_dir, tokens=[TOKEN], faults=FaultConfig(latency_ms=150))
    with EmbeddedServer(app) as srv, httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        started = time.monotonic()
        client.get(f"{srv.url}/api/v2/clients/{CLIENT}/datasets")
        assert time.monotonic() - started >= 0.15
    app.close()


@pytest.mark.parametrize(
    "method,path",
    [("POST", "/_admin/uploads/drop_next"), ("GET", "/_admin/uploads/x"), ("POST", "/_admin/datasets/x/complete")],
)
@pytest.mark.parametrize("auth", [None, "Bearer wrong-token", "Token x"])
def test_admin_routes_need_the_api_token(server: EmbeddedServer, method: str, path: str, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {}
    response = httpx.request(method, server.url + path, headers=headers, json={"after_bytes": 1})
    assert response.status_code == 401
    assert set(response.json()) == {"detail"}


def test_no_tokens_means_the_local_token(data_dir: Path) -> None:
    from labelsync.emulator.deepen import LOCAL_TOKEN

    app = create_app(data_dir, tokens=[])
    with EmbeddedServer(app) as srv:
        good = httpx.get(f"{srv.url}/api/v2/clients/{CLIENT}/datasets", headers={"Authorization": f"Bearer {LOCAL_TOKEN}"})
        assert good.status_code == 200
        bad = httpx.get(f"{srv.url}/api/v2/clients/{CLIENT}/datasets", headers={"Authorization": "Bearer other"})
        assert bad.status_code == 401
    app.close()
