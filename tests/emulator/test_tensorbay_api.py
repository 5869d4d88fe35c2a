"""The TensorBay emulator's Open API over loopback: auth, paging, ordering, errors, extensions."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from tests.emulator.conftest import TENSORBAY_TOKEN, TensorbayDriver


def test_auth_requires_a_configured_token(tensorbay_api: httpx.Client) -> None:
    for headers in ({"X-Token": ""}, {"X-Token": "Accesskey-wrong"}):
        response = tensorbay_api.get("datasets", headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == "Unauthorized"
    assert tensorbay_api.get("datasets", headers={"X-Token": TENSORBAY_TOKEN}).status_code == 200


def test_unknown_route_and_unsupported_endpoints_answer_json(tensorbay_api: httpx.Client) -> None:
    response = tensorbay_api.get("nowhere")
    assert (response.status_code, response.json()["code"]) == (404, "ResourceNotExist")
    response = tensorbay_api.get("storage-configs")
    assert (response.status_code, response.json()["code"]) == (501, "NotSupported")
    response = tensorbay_api.get("datasets/unknown")
    assert (response.status_code, response.json()["code"]) == (404, "ResourceNotExist")


def test_dataset_name_filter_is_exact_and_names_unique(tensorbay: TensorbayDriver) -> None:
    api = tensorbay.api
    for name in ("ab", "a", "xab"):
        tensorbay.dataset(name)
    page = api.get("datasets", params={"name": "a"}).json()
    assert [d["name"] for d in page["datasets"]] == ["a"]
    assert page["totalCount"] == 1
    assert api.get("datasets", params={"name": "zzz"}).json()["datasets"] == []
    assert [d["name"] for d in api.get("datasets").json()["datasets"]] == ["a", "ab", "xab"]
    response = api.post("datasets", json={"name": "a", "type": 0})
    assert (response.status_code, response.json()["code"]) == (409, "NameConflict")
    ds = api.get("datasets", params={"name": "ab"}).json()["datasets"][0]["id"]
    detail = api.get(f"datasets/{ds}").json()
    assert detail["commitId"] == "0" * 32
    assert {"type", "commitId", "defaultBranch", "alias", "isPublic"} <= set(detail)


def test_paging_is_exact_and_data_sorted_by_remote_path(tensorbay: TensorbayDriver) -> None:
    ds = tensorbay.dataset()
    draft = tensorbay.draft(ds)
    tensorbay.segment(ds, draft)
    tensorbay.upload(ds, draft, {"hello0.txt": b"x"})
    sha = hashlib.sha1(b"x").hexdigest()
    names = [f"f{i:03d}" for i in range(300)]
    tensorbay.callback(
        ds, draft, [{"checksum": sha, "fileSize": 1, "remotePath": n} for n in reversed(names)]
    )
    tensorbay.callback(
        ds,
        draft,
        [
            {"checksum": sha, "fileSize": 1, "remotePath": n}
            for n in ("hello10.txt", "hello1.txt", "goodbye0.txt")
        ],
    )
    expected = sorted([*names, "hello0.txt", "hello10.txt", "hello1.txt", "goodbye0.txt"])
    assert expected[300:] == ["goodbye0.txt", "hello0.txt", "hello1.txt", "hello10.txt"]
    got: list[str] = []
    for offset, limit in ((0, 128), (128, 128), (256, 48)):
        page = tensorbay.api.get(
            f"datasets/{ds}/data",
            params={"segmentName": "seg", "draftNumber": draft, "offset": offset, "limit": limit},
        ).json()
        assert page["totalCount"] == 304
        assert len(page["data"]) == limit
        got += [d["remotePath"] for d in page["data"]]
    assert got == expected
    for bad in (0, 129, -1):
        response = tensorbay.api.get(
            f"datasets/{ds}/data", params={"segmentName": "seg", "draftNumber": draft, "limit": bad}
        )
        assert (response.status_code, response.json()["code"]) == (400, "InvalidParamsValue")


def test_draft_commit_model(tensorbay: TensorbayDriver) -> None:
    api = tensorbay.api
    ds = tensorbay.dataset()
    response = api.post(f"datasets/{ds}/branches", json={"name": "dev", "commit": "main"})
    assert (response.status_code, response.json()["code"]) == (403, "Forbidden")
    assert tensorbay.draft(ds) == 1
    response = api.post(f"datasets/{ds}/drafts", json={"branchName": "main", "title": "again"})
    assert response.status_code == 409
    assert response.json() == {
        "code": "NameConflict",
        "message": "branch 'main' already has an open draft #1",
        "success": False,
    }
    response = api.post(f"datasets/{ds}/drafts", json={"branchName": "nope", "title": "x"})
    assert (response.status_code, response.json()["code"]) == (404, "ResourceNotExist")
    tensorbay.segment(ds, 1)
    assert (
        api.put(f"datasets/{ds}/labels/catalogs", json={"catalog": {}, "draftNumber": 1}).json()["code"]
        == "InvalidParamsValue"
    )
    catalog = {"BOX2D": {"categories": [{"name": "car"}]}}
    assert (
        api.put(f"datasets/{ds}/labels/catalogs", json={"catalog": catalog, "draftNumber": 1}).status_code
        == 200
    )
    tensorbay.upload(ds, 1, {"a.txt": b"A"})
    first = tensorbay.commit(ds, 1, "first", description="body\n\nlabelsync-digest: sha256:00", tag="v1")
    response = api.put(f"datasets/{ds}/labels/catalogs", json={"catalog": catalog, "draftNumber": 1})
    assert (response.status_code, response.json()["code"]) == (403, "Forbidden")

    # a new draft copies the head; writing to it leaves the commit unchanged
    assert tensorbay.draft(ds) == 2
    assert api.get(f"datasets/{ds}/labels/catalogs", params={"draftNumber": 2}).json() == {"catalog": catalog}
    tensorbay.upload(ds, 2, {"b.txt": b"B"})
    assert [d["remotePath"] for d in tensorbay.details(ds, draftNumber=2)] == ["a.txt", "b.txt"]
    assert [d["remotePath"] for d in tensorbay.details(ds, commit=first)] == ["a.txt"]
    segments = api.get(f"datasets/{ds}/diffs/draft-2/segments").json()
    assert segments["segments"] == [
        {
            "name": "seg",
            "action": "modify",
            "data": {"stats": {"total": 1, "additions": 1, "deletions": 0, "modifications": 0}},
            "sensor": {"action": ""},
        }
    ]
    data = api.get(f"datasets/{ds}/diffs/commit-{first}...draft-2/segments/seg/data").json()
    assert data["data"] == [
        {"remotePath": "b.txt", "action": "add", "file": {"action": "add"}, "label": {"action": ""}}
    ]
    second = tensorbay.commit(ds, 2, "second", tag="a-tag")

    api.post(f"datasets/{ds}/branches", json={"name": "dev", "commit": first})
    assert tensorbay.draft(ds, branch="dev") == 3
    api.patch(f"datasets/{ds}/drafts/3", json={"status": "CLOSED"})
    assert tensorbay.draft(ds, branch="dev") == 4  # numbers are never reused

    drafts = api.get(f"datasets/{ds}/drafts").json()
    assert [(d["number"], d["status"], d["branchName"]) for d in drafts["drafts"]] == [
        (1, "COMMITTED", "main"),
        (2, "COMMITTED", "main"),
        (3, "CLOSED", "dev"),
        (4, "OPEN", "dev"),
    ]
    assert [
        d["number"] for d in api.get(f"datasets/{ds}/drafts", params={"status": "OPEN"}).json()["drafts"]
    ] == [4]
    assert api.get(f"datasets/{ds}/drafts", params={"branchName": "nope"}).json()["totalCount"] == 0

    commits = api.get(f"datasets/{ds}/commits", params={"commit": "main"}).json()
    assert [c["commitId"] for c in commits["commits"]] == [second, first]
    assert commits["commits"][1]["parentCommitId"] == "0" * 32
    assert commits["commits"][1]["description"] == "body\n\nlabelsync-digest: sha256:00"
    assert [
        c["commitId"] for c in api.get(f"datasets/{ds}/commits", params={"commit": "v1"}).json()["commits"]
    ] == [first]
    response = api.get(f"datasets/{ds}/commits", params={"commit": "unknown"})
    assert (response.status_code, response.json()["code"]) == (404, "ResourceNotExist")
    assert [t["name"] for t in api.get(f"datasets/{ds}/tags").json()["tags"]] == ["a-tag", "v1"]
    branches = {b["name"]: b for b in api.get(f"datasets/{ds}/branches").json()["branches"]}
    assert branches["main"]["commitId"] == second and branches["main"]["description"] == ""
    assert api.get(f"datasets/{ds}").json()["commitId"] == second
    response = api.post(f"datasets/{ds}/commits", json={"title": "x", "draftNumber": 4, "tag": "v1"})
    assert (response.status_code, response.json()["code"]) == (409, "NameConflict")


def test_labels_masks_and_extensions(tensorbay: TensorbayDriver) -> None:
    api = tensorbay.api
    ds = tensorbay.dataset()
    tensorbay.draft(ds)
    tensorbay.segment(ds, 1)
    policy = tensorbay.policy(ds, 1)
    assert policy["result"]["multipleUploadLimit"] == 1000
    image, mask = b"image bytes", b"mask bytes"
    for blob in (image, mask):
        assert tensorbay.put_object(policy, blob).status_code == 200
    label = {
        "BOX2D": [{"box2d": {"xmin": 1, "ymin": 2, "xmax": 3.5, "ymax": 4}, "category": "car"}],
        "SEMANTIC_MASK": {
            "checksum": hashlib.sha1(mask).hexdigest(),
            "fileSize": len(mask),
            "info": [{"categoryId": 0}],
        },
    }
    obj = {
        "checksum": hashlib.sha1(image).hexdigest(),
        "fileSize": len(image),
        "remotePath": "dir/photo.jpg",
        "label": label,
        "timestamp": 1614667532,
    }
    tensorbay.callback(ds, 1, [obj])
    (item,) = tensorbay.details(ds, draftNumber=1)
    assert item["checksum"] == hashlib.sha1(image).hexdigest() and item["fileSize"] == len(image)
    assert item["label"]["BOX2D"] == label["BOX2D"]
    assert item["timestamp"] == 1614667532 and isinstance(item["timestamp"], int)  # JSON types kept
    semantic = item["label"]["SEMANTIC_MASK"]
    assert semantic["remotePath"] == "dir/photo.png"
    assert semantic["info"] == [{"categoryId": 0}]
    assert (semantic["checksum"], semantic["fileSize"]) == (hashlib.sha1(mask).hexdigest(), len(mask))
    assert httpx.get(semantic["url"]).content == mask
    assert httpx.get(item["url"]).content == image
    urls = api.get(
        f"datasets/{ds}/masks/urls",
        params={"segmentName": "seg", "draftNumber": 1, "maskType": "SEMANTIC_MASK"},
    )
    assert httpx.get(urls.json()["urls"][0]["url"]).content == mask

    # a callback replaces file and label; labels for unknown paths are refused
    tensorbay.callback(ds, 1, [{**obj, "label": {}}])
    assert tensorbay.details(ds, draftNumber=1)[0]["label"] == {}
    body = {"segmentName": "seg", "draftNumber": 1, "objects": [{"remotePath": "missing.jpg", "label": {}}]}
    response = api.put(f"datasets/{ds}/multi/data/labels", json=body)
    assert (response.status_code, response.json()["code"]) == (404, "ResourceNotExist")
    missing = {"checksum": "f" * 40, "fileSize": 1, "remotePath": "x.jpg"}
    response = api.put(
        f"datasets/{ds}/multi/callback", json={"segmentName": "seg", "draftNumber": 1, "objects": [missing]}
    )
    assert (response.status_code, response.json()["code"]) == (400, "InvalidParamsValue")
    response = api.request(
        "DELETE",
        f"datasets/{ds}/data",
        json={"segmentName": "seg", "remotePath": "dir/photo.jpg", "draftNumber": 1},
    )
    assert response.status_code == 200
    assert tensorbay.details(ds, draftNumber=1) == []


def test_segment_copy_abort_is_500_and_duplicate_segment_409(tensorbay: TensorbayDriver) -> None:
    api = tensorbay.api
    ds = tensorbay.dataset()
    tensorbay.draft(ds)
    tensorbay.segment(ds, 1, "a")
    tensorbay.segment(ds, 1, "b")
    response = api.post(f"datasets/{ds}/segments", json={"name": "a", "draftNumber": 1})
    assert (response.status_code, response.json()["code"]) == (409, "NameConflict")
    body = {"strategy": "abort", "source": {"segmentName": "a"}, "segmentName": "b", "draftNumber": 1}
    response = api.post(f"datasets/{ds}/segments?copy", json=body)
    assert (response.status_code, response.json()["code"]) == (500, "InternalServerError")
    assert api.post(f"datasets/{ds}/segments?move", json={**body, "strategy": "override"}).status_code == 200
    segments = api.get(f"datasets/{ds}/segments", params={"draftNumber": 1}).json()["segments"]
    assert segments == [{"name": "b", "description": ""}]


def test_fusion_frames_sorted_and_sensor_required(tensorbay: TensorbayDriver) -> None:
    api = tensorbay.api
    ds = tensorbay.dataset(fusion=True)
    tensorbay.draft(ds)
    tensorbay.segment(ds, 1)
    sensor = {"name": "cam", "type": "CAMERA", "segmentName": "seg", "draftNumber": 1}
    assert api.post(f"datasets/{ds}/sensors", json=sensor).status_code == 200
    policy = tensorbay.policy(ds, 1)
    tensorbay.put_object(policy, b"f")
    sha = hashlib.sha1(b"f").hexdigest()
    frames = ["01B", "01A", "01C"]
    tensorbay.callback(
        ds,
        1,
        [
            {"checksum": sha, "fileSize": 1, "remotePath": f"{f}.jpg", "frameId": f, "sensorName": "cam"}
            for f in frames
        ],
    )
    bad = {"checksum": sha, "fileSize": 1, "remotePath": "x.jpg", "frameId": "01D", "sensorName": "lidar"}
    response = api.put(
        f"datasets/{ds}/multi/callback", json={"segmentName": "seg", "draftNumber": 1, "objects": [bad]}
    )
    assert response.status_code == 400
    details = tensorbay.details(ds, draftNumber=1)
    assert [d["frameId"] for d in details] == ["01A", "01B", "01C"]
    assert details[0]["frame"][0]["sensorName"] == "cam" and details[0]["frame"][0]["checksum"] == sha
    assert api.get(f"datasets/{ds}/sensors", params={"segmentName": "seg", "draftNumber": 1}).json() == {
        "sensors": [{"name": "cam", "type": "CAMERA"}]
    }


@pytest.mark.parametrize("name", ["../../etc/passwd", "/abs", "a/b", "..", "a\\b", " a", "a\x00"])
def test_unsafe_segment_names_are_refused(tensorbay: TensorbayDriver, name: str) -> None:
    api = tensorbay.api
    ds = tensorbay.dataset()
    tensorbay.draft(ds)
    response = api.post(f"datasets/{ds}/segments", json={"name": name, "draftNumber": 1})
    assert (response.status_code, response.json()["code"]) == (400, "InvalidParamsValue")
    tensorbay.segment(ds, 1, "ok")
    body = {"strategy": "abort", "source": {"segmentName": "ok"}, "segmentName": name, "draftNumber": 1}
    for flag in ("copy", "move"):
        response = api.post(f"datasets/{ds}/segments?{flag}", json=body)
        assert (response.status_code, response.json()["code"]) == (400, "InvalidParamsValue")
    assert api.get(f"datasets/{ds}/segments", params={"draftNumber": 1}).json()["segments"] == [
        {"name": "ok", "description": ""}
    ]


def test_move_data_skip_keeps_the_target_and_drops_the_source(tensorbay: TensorbayDriver) -> None:
    api = tensorbay.api
    ds = tensorbay.dataset()
    tensorbay.draft(ds)
    tensorbay.segment(ds, 1, "seg")
    tensorbay.upload(ds, 1, {"a.png": b"source", "b.png": b"target"})
    body = {
        "strategy": "skip",
        "source": {"segmentName": "seg", "remotePaths": ["a.png"]},
        "segmentName": "seg",
        "remotePaths": ["b.png"],
        "draftNumber": 1,
    }
    assert api.post(f"datasets/{ds}/data?multipleMove", json=body).status_code == 200
    [kept] = tensorbay.details(ds, draftNumber=1)
    assert (kept["remotePath"], kept["checksum"]) == ("b.png", hashlib.sha1(b"target").hexdigest())
