"""The Label Studio client against a real server (marker ``labelstudio``)."""

from __future__ import annotations

import struct
import zlib

import pytest

from labelsync import errors
from labelsync.providers.http import client_stats
from labelsync.providers.labelstudio.client import LabelStudioClient, UploadFile
from labelsync.providers.labelstudio.config import label_config

pytestmark = pytest.mark.labelstudio

CONFIG = label_config({"BOX2D": {"categories": [{"name": "car"}, {"name": "ped"}]}})


def _png(seed: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes((seed + x + y) % 256 for x in range(4)) for y in range(3))
    header = struct.pack(">IIBBBBB", 4, 3, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _box(label: str) -> dict:
    return {
        "id": "r1", "from_name": "box2d", "to_name": "image", "type": "rectanglelabels",
        "original_width": 40, "original_height": 30,
        "value": {"x": 10.0, "y": 20.0, "width": 25.0, "height": 50.0, "rotation": 0, "rectanglelabels": [label]},
    }


def _tasks(n: int) -> list[dict]:
    return [{"data": {"image": f"/data/none/{i}.png", "remotePath": f"{i}.png", "sha1": f"{i:040x}"}} for i in range(n)]


def test_legacy_token_and_pat_both_authenticate(labelstudio) -> None:
    with LabelStudioClient(labelstudio.url, labelstudio.legacy_token) as legacy:
        assert legacy.whoami()["email"] == "admin@example.com"
        assert legacy.auth.kind == "legacy"
    with LabelStudioClient(labelstudio.url, labelstudio.personal_token()) as pat:
        assert pat.whoami()["email"] == "admin@example.com"
        assert (pat.auth.kind, pat.auth.refreshes) == ("pat", 1)
        pat.whoami()
        assert pat.auth.refreshes == 1  # the access token is reused while it is fresh


def test_a_refused_token_is_an_auth_error_without_the_token(labelstudio) -> None:
    bad_legacy = "f" * 40
    with LabelStudioClient(labelstudio.url, bad_legacy, token_env="LS_TOKEN") as client:
        with pytest.raises(errors.AuthError) as caught:
            client.whoami()
    assert bad_legacy not in str(caught.value) and "$LS_TOKEN" in (caught.value.hint or "")
    pat = labelstudio.personal_token()
    bad_pat = pat[:-4] + ("AAAA" if not pat.endswith("AAAA") else "BBBB")
    with LabelStudioClient(labelstudio.url, bad_pat, token_env="LS_TOKEN") as client:
        with pytest.raises(errors.AuthError, match="token refresh: HTTP 401") as caught:
            client.whoami()
    assert bad_pat not in str(caught.value)


def test_pat_access_is_renewed_on_401(labelstudio) -> None:
    with LabelStudioClient(labelstudio.url, labelstudio.personal_token()) as client:
        client.whoami()
        client.auth._access = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjk5OTk5OTk5OTl9.bm90LXNpZ25lZA"  # rejected by the server
        assert client.whoami()["email"] == "admin@example.com"
        assert client.auth.refreshes == 2


def test_pat_access_is_renewed_before_it_expires(labelstudio) -> None:
    offset = [0.0]
    import time

    with LabelStudioClient(labelstudio.url, labelstudio.personal_token(), clock=lambda: time.time() + offset[0]) as client:
        client.whoami()
        client.whoami()
        assert client.auth.refreshes == 1
        offset[0] = 300 - 10  # 10 s before the 300 s access token expires
        client.whoami()
        assert client.auth.refreshes == 2
        stats = client_stats(client.http)
        assert stats.by_status.get(401, 0) == 0  # renewed before the server had to refuse it


def test_project_create_find_exactly_and_delete(ls_client) -> None:
    base = "labelsync:client-test/find"
    first = ls_client.create_project(base, CONFIG)
    longer = ls_client.create_project(base + "-longer", CONFIG)
    try:
        assert ls_client.find_project(base).id == first.id  # the server's filter matches both
        assert ls_client.find_project(base.upper()) is None
        assert ls_client.get_project(first.id).label_config == CONFIG  # kept exactly as sent
        assert ls_client.update_project(first.id, description="d").description == "d"
        dup = ls_client.create_project(base, CONFIG)
        with pytest.raises(errors.ConflictError, match="2 projects titled"):
            ls_client.find_project(base)
        ls_client.delete_project(dup.id)
    finally:
        ls_client.delete_project(first.id)
        ls_client.delete_project(longer.id)
    assert ls_client.find_project(base) is None
    with pytest.raises(errors.NotFoundError):
        ls_client.get_project(first.id)


def test_upload_in_batches_within_the_100_file_limit(ls_client, project) -> None:
    files = [UploadFile(f"img{i:03}.png", _png(i), len(_png(i))) for i in range(101)]
    posts_before = client_stats(ls_client.http).requests
    uploads = ls_client.upload_files(project.id, files)
    # two multipart requests (100 + 1 files) and two look-ups of the stored names
    assert client_stats(ls_client.http).requests - posts_before == 4
    assert len({u.id for u in uploads}) == 101
    assert [u.file.rsplit("-", 1)[-1] for u in uploads] == [f.name for f in files]
    assert ls_client.download("/data/" + uploads[100].file) == files[100].content
    task_ids = ls_client.import_tasks(
        project.id, [{"data": {"image": "/data/" + u.file, "remotePath": f.name}} for u, f in zip(uploads, files, strict=True)]
    )
    assert len(task_ids) == 101


def test_tasks_paging_and_bulk_delete(ls_client, project) -> None:
    assert list(ls_client.iter_tasks(project.id)) == []
    ids = ls_client.import_tasks(project.id, _tasks(5))
    for size in (2, 5, 1000):
        tasks = list(ls_client.iter_tasks(project.id, page_size=size))
        assert [t.data["remotePath"] for t in tasks] == [f"{i}.png" for i in range(5)]
    assert ls_client.delete_tasks(project.id, ids[:2]) == 2
    assert [t.id for t in ls_client.iter_tasks(project.id, page_size=2)] == ids[2:]
    assert ls_client.get_project(project.id).task_number == 3


def test_a_page_past_the_end_ends_the_listing(ls_client, project) -> None:
    ls_client.import_tasks(project.id, _tasks(2))
    with pytest.raises(errors.NotFoundError, match="Invalid page"):
        ls_client.call("GET", "api/tasks", what="list", params={"project": project.id, "page": 3, "page_size": 1})


def test_predictions_crud_and_annotations(ls_client, project) -> None:
    (task,) = ls_client.import_tasks(project.id, _tasks(1))
    created = ls_client.create_prediction(task, [_box("car")], model_version="labelsync")
    assert [p.result for p in ls_client.list_predictions(task)] == [[_box("car")]]
    assert ls_client.update_prediction(created.id, result=[_box("ped")]).result == [_box("ped")]
    ls_client.delete_prediction(created.id)
    assert ls_client.list_predictions(task) == []
    assert ls_client.list_annotations(task) == []


def test_validate_refuses_removing_a_label_annotations_use(ls_client, project) -> None:
    (task,) = ls_client.import_tasks(project.id, _tasks(1))
    ls_client.call("POST", f"api/tasks/{task}/annotations/", what="annotate", json={"result": [_box("ped")]})
    without_ped = label_config({"BOX2D": {"categories": [{"name": "car"}]}})
    refusals = ls_client.validate_config(without_ped, project.id)
    assert any("ped (1 annotation)" in line for line in refusals)
    assert ls_client.validate_config(without_ped) == []  # the XML alone is fine
    assert ls_client.validate_config(CONFIG, project.id) == []
    status = ls_client.get_project(project.id)
    assert (status.task_number, status.num_tasks_with_annotations, status.total_annotations_number) == (1, 1, 1)
    assert ls_client.summary(project.id).created_labels == {"box2d": {"ped": 1}}


def test_an_html_answer_is_not_parsed(ls_client) -> None:
    with pytest.raises(errors.NotFoundError, match="HTTP 404"):
        ls_client.call("GET", "api/no-such-endpoint/", what="probe")
    with pytest.raises(errors.BadAnswerError, match=r"unusable answer \(HTTP 200, text/html\): an HTML page"):
        ls_client.call("GET", "user/login/", what="probe")


def test_a_title_too_long_is_refused_before_sending(ls_client) -> None:
    with pytest.raises(errors.ManifestError, match="51 characters, Label Studio allows at most 50"):
        ls_client.create_project("x" * 51, CONFIG)
