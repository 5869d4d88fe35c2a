"""The Label Studio provider against a real server, driven through the CLI as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labelsync.cli.sync import load_desired, remotes_of
from labelsync.engine.connect import Connections
from labelsync.providers.labelstudio.client import LabelStudioClient
from labelsync.providers.labelstudio.project import read_state, title_for
from tests.support.lsrepo import box, cli, image, unique_name, write_repo
from tests.support.repo import TOKEN_ENV

pytestmark = pytest.mark.labelstudio


@pytest.fixture
def token(labelstudio) -> str:
    return labelstudio.legacy_token


def project_of(ls_client: LabelStudioClient, name: str):
    found = ls_client.find_project(title_for(name))
    assert found is not None
    return found


def tasks_of(ls_client: LabelStudioClient, project_id: int) -> dict[str, dict]:
    out = {}
    for task in ls_client.iter_tasks(project_id, fields="all"):
        assert task.data["remotePath"] not in out, "duplicate task"
        out[task.data["remotePath"]] = task
    return out


def read_live(root: Path, monkeypatch, token: str):
    """The live state of the repository's one dataset, and how many requests reading it took."""
    monkeypatch.setenv(TOKEN_ENV, token)
    [want], _ = load_desired([root])
    with Connections(remotes_of(root), root) as conns:
        live = conns.get("ls").provider.read_live(want)
    return want, live


def test_apply_then_a_noop_plan_in_one_request(labelstudio, ls_client, token, tmp_path, monkeypatch) -> None:
    name = unique_name()
    files = {"a.png": image(1), "b.png": image(2), "c.png": image(3)}
    root = write_repo(tmp_path / "r", labelstudio.url, files, labels={"a.png": box(), "b.png": box("ped")}, name=name)
    applied = cli(["apply", "--auto-approve"], root, token)
    assert applied.code == 0, applied.text
    assert "3 file(s) / 1.4 KiB uploaded" in applied.out
    project = project_of(ls_client, name)
    tasks = tasks_of(ls_client, project.id)
    assert sorted(tasks) == ["a.png", "b.png", "c.png"]
    assert tasks["a.png"].data["segment"] == "train" and len(tasks["a.png"].data["sha1"]) == 40
    assert [p.model_version for p in tasks["b.png"].predictions] == ["labelsync"]
    assert tasks["c.png"].predictions == []
    [region] = tasks["b.png"].predictions[0].result
    assert region["value"]["rectanglelabels"] == ["ped"] and region["value"]["x"] == 5.0  # 2 px of 40
    assert ls_client.download(tasks["a.png"].data["image"]) == files["a.png"]

    noop = cli(["plan", "--detailed-exitcode"], root, token)
    assert noop.code == 0, noop.text
    assert "No changes" in noop.out
    _, live = read_live(root, monkeypatch, token)
    assert live.recorded_digest is not None and not live.complete
    assert live.info["requests"] == 1


def test_one_changed_file_a_label_only_change_and_prune(labelstudio, ls_client, token, tmp_path, monkeypatch) -> None:
    name = unique_name()
    files = {"a.png": image(1), "b.png": image(2), "c.png": image(3)}
    root = write_repo(tmp_path / "r", labelstudio.url, files, labels={"a.png": box()}, name=name)
    assert cli(["apply", "--auto-approve"], root, token).code == 0
    project = project_of(ls_client, name)
    before = tasks_of(ls_client, project.id)

    # one file's content changes: that file alone is sent, its task is updated in place
    files["b.png"] = image(9)
    write_repo(root, labelstudio.url, files, labels={"a.png": box()}, name=name)
    changed = cli(["apply", "--auto-approve"], root, token)
    assert changed.code == 0, changed.text
    assert "0 to create, 1 to update, 0 to delete" in changed.out and "1 file(s) / 485 B uploaded" in changed.out
    after = tasks_of(ls_client, project.id)
    assert after["b.png"].id == before["b.png"].id and after["b.png"].data["sha1"] != before["b.png"].data["sha1"]
    assert ls_client.download(after["b.png"].data["image"]) == files["b.png"]

    # a label-only change sends no bytes and replaces labelsync's prediction
    write_repo(root, labelstudio.url, files, labels={"a.png": box("ped", 4), "c.png": box()}, name=name)
    plan = cli(["plan"], root, token)
    assert "0 B to upload" in plan.out and "~ label.a.png" in plan.out and "~ label.c.png" in plan.out, plan.out
    relabel = cli(["apply", "--auto-approve"], root, token)
    assert relabel.code == 0, relabel.text
    assert "0 file(s) / 0 B uploaded" in relabel.out, relabel.out
    labelled = tasks_of(ls_client, project.id)
    assert [p.result[0]["value"]["rectanglelabels"] for p in labelled["a.png"].predictions] == [["ped"]]
    assert len(labelled["c.png"].predictions) == 1
    assert cli(["plan", "--detailed-exitcode"], root, token).code == 0

    # a file removed from the repository: left alone without prune, its task deleted with it
    del files["c.png"]
    write_repo(root, labelstudio.url, files, labels={"a.png": box("ped", 4)}, name=name)
    kept = cli(["plan"], root, token)
    assert "left alone" in kept.out
    write_repo(root, labelstudio.url, files, labels={"a.png": box("ped", 4)}, name=name, prune=True)
    pruned = cli(["apply", "--auto-approve"], root, token)
    assert pruned.code == 0, pruned.text
    assert sorted(tasks_of(ls_client, project.id)) == ["a.png", "b.png"]
    assert cli(["plan", "--detailed-exitcode"], root, token).code == 0
    _, live = read_live(root, monkeypatch, token)
    assert live.info["requests"] == 1


def test_a_killed_apply_finishes_without_duplicate_tasks(labelstudio, ls_client, token, tmp_path, monkeypatch) -> None:
    """The import request reached the server but the client never saw the answer (killed):
    the re-run re-reads the tasks by remotePath and imports only the rest."""
    from labelsync.providers.labelstudio import session

    name = unique_name()
    files = {f"{i}.png": image(i) for i in range(5)}
    root = write_repo(tmp_path / "r", labelstudio.url, files, labels={"0.png": box(), "3.png": box("ped")}, name=name)
    monkeypatch.setattr(session, "IMPORT_BATCH", 2)
    real = LabelStudioClient.import_tasks
    calls = []

    def dies_after_the_second(self, project_id, tasks):
        calls.append(len(tasks))
        ids = real(self, project_id, tasks)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process is killed after the server imported
        return ids

    monkeypatch.setattr(LabelStudioClient, "import_tasks", dies_after_the_second)
    monkeypatch.setenv(TOKEN_ENV, token)
    from labelsync.engine.apply import apply_plan
    from labelsync.engine.planning import make_plan
    from labelsync.providers.base import ApplyOptions
    from labelsync.providers.session import NullEvents

    desired, _ = load_desired([root])
    with Connections(remotes_of(root), root) as conns, pytest.raises(KeyboardInterrupt):
        apply_plan(make_plan(desired, conns, root), conns, ApplyOptions(root=root), NullEvents())
    project = project_of(ls_client, name)
    assert len(tasks_of(ls_client, project.id)) == 4
    assert read_state(ls_client.get_project(project.id).description).digest is None

    monkeypatch.setattr(LabelStudioClient, "import_tasks", real)
    plan = cli(["plan"], root, token)
    assert "1 to create" in plan.out, plan.out
    again = cli(["apply", "--auto-approve"], root, token)
    assert again.code == 0, again.text
    tasks = tasks_of(ls_client, project.id)
    assert sorted(tasks) == sorted(files)
    assert len(tasks["3.png"].predictions) == 1
    assert cli(["plan", "--detailed-exitcode"], root, token).code == 0


def annotate(ls_client: LabelStudioClient, task_id: int, result: list[dict]) -> None:
    """What an annotator's submit sends."""
    ls_client.call("POST", f"api/tasks/{task_id}/annotations/", what="annotate", json={"result": result, "lead_time": 3.2})


def test_a_human_in_the_loop(labelstudio, ls_client, token, tmp_path, monkeypatch) -> None:
    """apply with predictions; an annotator corrects a box and submits; pull brings it into
    git; the next plan shows no changes; status counts the task as annotated."""
    name = unique_name()
    files = {"a.png": image(1), "b.png": image(2)}
    root = write_repo(tmp_path / "r", labelstudio.url, files, labels={"a.png": box(), "b.png": box()}, name=name)
    assert cli(["apply", "--auto-approve"], root, token).code == 0
    project = project_of(ls_client, name)
    task = tasks_of(ls_client, project.id)["a.png"]
    [region] = task.predictions[0].result
    corrected = json.loads(json.dumps(region))
    corrected["id"] = "hX1"  # the editor gives a region of its own id
    corrected["value"].update(x=25.0, width=50.0, rectanglelabels=["ped"])  # 10..30 px of 40, a pedestrian
    annotate(ls_client, task.id, [corrected])
    ls_client.call("POST", f"api/tasks/{tasks_of(ls_client, project.id)['b.png'].id}/drafts", what="draft", json={"result": []})

    before_pull = cli(["plan"], root, token)
    assert "run `labelsync pull`" in before_pull.out and "Blocked" in before_pull.out, before_pull.out

    pulled = cli(["pull"], root, token)
    assert pulled.code == 0, pulled.text
    lines = {json.loads(line)["remotePath"]: json.loads(line)["label"] for line in (root / "labels.jsonl").read_text().splitlines()}
    assert lines["a.png"] == {"BOX2D": [{"box2d": {"xmin": 10, "ymin": 3, "xmax": 30, "ymax": 13}, "category": "ped"}]}
    assert lines["b.png"] == box()  # a draft is not an annotation: the local label stays

    replan = cli(["plan", "--detailed-exitcode"], root, token)
    assert replan.code == 0, replan.text
    assert "No changes" in replan.out
    status = cli(["status"], root, token)
    assert status.code == 0, status.text
    assert "in sync with the manifest" in status.out
    assert "tasks: 2; annotated 1, finished 1, skipped 0; 1 annotations, 2 predictions" in status.out
    assert "box2d: ped 1" in status.out
    facts = json.loads(cli(["status", "--format", "json"], root, token).out)["datasets"][0]
    assert (facts["tasks"], facts["annotated"], facts["labels"]) == (2, 1, {"box2d": {"ped": 1}})


def test_a_config_change_that_strands_annotations_is_blocked(labelstudio, ls_client, token, tmp_path) -> None:
    name = unique_name()
    root = write_repo(tmp_path / "r", labelstudio.url, {"a.png": image(1)}, labels={"a.png": box("ped")}, name=name)
    assert cli(["apply", "--auto-approve"], root, token).code == 0
    project = project_of(ls_client, name)
    task = tasks_of(ls_client, project.id)["a.png"]
    annotate(ls_client, task.id, task.predictions[0].result)
    before = ls_client.get_project(project.id).label_config

    write_repo(root, labelstudio.url, {"a.png": image(1)}, labels={}, name=name,
               catalog={"BOX2D": {"categories": [{"name": "car"}]}})  # fmt: skip
    plan = cli(["plan"], root, token)
    assert "Blocked" in plan.out and "ped (1 annotation)" in plan.out, plan.out
    applied = cli(["apply", "--auto-approve"], root, token)
    assert applied.code != 0 and "cannot be applied" in applied.text
    assert ls_client.get_project(project.id).label_config == before  # never a silent PATCH

    # adding a category is fine
    write_repo(root, labelstudio.url, {"a.png": image(1)}, labels={"a.png": box("ped")}, name=name,
               catalog={"BOX2D": {"categories": [{"name": "car"}, {"name": "ped"}, {"name": "bus"}]}})  # fmt: skip
    grown = cli(["apply", "--auto-approve"], root, token)
    assert grown.code == 0, grown.text
    assert "bus" in ls_client.get_project(project.id).label_config


def test_a_bad_token_is_one_line_without_the_token(labelstudio, tmp_path) -> None:
    bad = "f" * 40
    root = write_repo(tmp_path / "r", labelstudio.url, {"a.png": image(1)}, name=unique_name())
    result = cli(["plan"], root, bad)
    assert result.code != 0
    assert bad not in result.text and "Traceback" not in result.text
    assert "401" in result.err and TOKEN_ENV in result.err


def test_a_personal_access_token_works_too(labelstudio, tmp_path) -> None:
    root = write_repo(tmp_path / "r", labelstudio.url, {"a.png": image(1)}, labels={"a.png": box()}, name=unique_name())
    pat = labelstudio.personal_token()
    applied = cli(["apply", "--auto-approve"], root, pat)
    assert applied.code == 0, applied.text
    assert pat not in applied.text
    assert cli(["plan", "--detailed-exitcode"], root, pat).code == 0


def test_validation_names_the_provider(labelstudio, tmp_path) -> None:
    root = write_repo(tmp_path / "r", labelstudio.url, {"a.png": image(1)}, name=unique_name(),
                      catalog={"BOX3D": {"categories": [{"name": "car"}]}, "BOX2D": {"categories": []}})  # fmt: skip
    result = cli(["validate"], root, "unused")
    assert result.code != 0
    assert "label type BOX3D is not supported by Label Studio" in result.text
    assert "BOX2D needs categories on Label Studio (provider labelstudio)" in result.text


def test_the_example_applies_and_replans_to_no_changes(labelstudio, ls_client, token, tmp_path) -> None:
    import shutil

    from tests.support.repo import run_cli

    repo = tmp_path / "labelstudio"
    shutil.copytree(Path(__file__).resolve().parents[3] / "examples" / "labelstudio", repo)
    env = {"LABELSYNC_REMOTE_LS_URL": labelstudio.url, "LABEL_STUDIO_TOKEN": token}
    assert run_cli(["validate"], repo, "", extra_env=env).code == 0
    applied = run_cli(["apply", "--auto-approve"], repo, "", extra_env=env)
    assert applied.code == 0, applied.text
    again = run_cli(["plan", "--detailed-exitcode"], repo, "", extra_env=env)
    assert again.code == 0 and "No changes" in again.out, again.text
    project = ls_client.find_project("labelsync example: streets")
    assert project is not None and project.task_number == 3 and project.total_predictions_number == 2
    ls_client.delete_project(project.id)
