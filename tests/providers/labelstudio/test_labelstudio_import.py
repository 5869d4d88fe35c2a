"""``labelsync import`` of a Label Studio project people made in Label Studio (real server)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from labelsync.providers.labelstudio.client import LabelStudioClient
from tests.support.lsrepo import cli, image
from tests.support.repo import TOKEN_ENV

pytestmark = pytest.mark.labelstudio

CONFIG = """<View>
  <Image name="img" value="$photo"/>
  <RectangleLabels name="label" toName="img"><Label value="cat"/><Label value="dog" hint="a good one"/></RectangleLabels>
  <Choices name="weather" toName="img" choice="single"><Choice value="sunny"/><Choice value="rainy"/></Choices>
  <TextArea name="notes" toName="img"/>
</View>"""


def rect(label: str, x: float, y: float, w: float, h: float, rid: str = "r1") -> dict:
    return {"id": rid, "from_name": "label", "to_name": "img", "type": "rectanglelabels", "original_width": 40,
            "original_height": 30, "image_rotation": 0,
            "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0, "rectanglelabels": [label]}}


def user_project(client: LabelStudioClient, title: str) -> dict[str, int]:
    """What a user does in Label Studio: a project with a config of their own, three images
    uploaded, one annotated, one with a model's prediction only, one untouched. Task ids by file."""
    project = client.call("POST", "api/projects", what="create", json={"title": title, "label_config": CONFIG})
    pid = project["id"]
    files = {f"f{i}": (name, image(10 + i), "image/png") for i, name in enumerate(["cat.png", "dog.png", "empty.png"])}
    client.call("POST", f"api/projects/{pid}/import", what="upload", files=files)
    page = client.call("GET", "api/tasks", what="tasks", params={"project": pid, "fields": "all"})
    tasks = {t["data"]["photo"].rsplit("/", 1)[1].split("-", 1)[1]: t["id"] for t in page["tasks"]}
    # an old annotation, then a newer one: the newest submitted counts
    client.call("POST", f"api/tasks/{tasks['cat.png']}/annotations/", what="annotate",
                json={"result": [rect("dog", 5, 10, 25, 50)]})
    weather = {"id": "w", "from_name": "weather", "to_name": "img", "type": "choices", "value": {"choices": ["sunny"]}}
    note = {"id": "n", "from_name": "notes", "to_name": "img", "type": "textarea", "value": {"text": ["fluffy"]}}
    client.call("POST", f"api/tasks/{tasks['cat.png']}/annotations/", what="annotate",
                json={"result": [rect("cat", 5, 10, 25, 50), weather, note]})
    client.call("POST", "api/predictions", what="predict",
                json={"task": tasks["dog.png"], "model_version": "yolo-v8", "result": [rect("dog", 50, 0, 50, 100)]})
    return {"id": pid, **tasks}


def repo(root: Path, url: str) -> Path:
    root.mkdir(parents=True)
    (root / "labelsync.yaml").write_text(f"remotes:\n  ls: {{provider: labelstudio, url: '{url}', tokenEnv: {TOKEN_ENV}}}\n")
    return root


def test_import_of_a_users_project_then_plan_shows_no_changes(labelstudio, ls_client, tmp_path) -> None:
    token = labelstudio.legacy_token
    title = f"My pets {uuid.uuid4().hex[:8]}"
    made = user_project(ls_client, title)
    try:
        root = repo(tmp_path / "r", labelstudio.url)
        result = cli(["import", "ls", title, "--with-data", "--dir", "pets"], root, token)
        assert result.code == 0, result.text
        assert "1 segment(s), 3 items, 1 labelled" in result.out and "3 data files" in result.out, result.out
        assert "TextArea 'notes'" in result.out  # what import does not read is said
        assert "1 task(s) have only predictions" in result.out

        manifest = (root / "pets" / "dataset.yaml").read_text()
        assert f"title: {title}" in manifest and "adopted: true" in manifest
        assert "name: My-pets-" in manifest
        assert (root / "pets/default/data/dog.png").read_bytes() == image(11)
        labels = [json.loads(line) for line in (root / "pets/default/labels.jsonl").read_text().splitlines()]
        assert labels == [{"remotePath": "cat.png", "label": {
            "BOX2D": [{"box2d": {"xmin": 2, "ymin": 3, "xmax": 12, "ymax": 18}, "category": "cat"}],
            "CLASSIFICATION": {"category": "sunny"}}}]  # fmt: skip

        plan = cli(["plan", "--detailed-exitcode", "pets"], root, token)
        assert plan.code == 0, plan.text
        assert "No changes" in plan.out

        # apply writes the adopted project with its own names; the people's work stays
        ls_client.update_project(made["id"], description="Pets of the team.")
        (root / "pets/default/data/new.png").write_bytes(image(20))
        lines = (root / "pets/default/labels.jsonl").read_text()
        new_label = {"BOX2D": [{"box2d": {"xmin": 4, "ymin": 3, "xmax": 20, "ymax": 15}, "category": "dog"}]}
        (root / "pets/default/labels.jsonl").write_text(
            lines + json.dumps({"remotePath": "new.png", "label": new_label}) + "\n"
            + json.dumps({"remotePath": "empty.png", "label": {"CLASSIFICATION": {"category": "rainy"}}}) + "\n")
        (root / "pets/default/data/dog.png").unlink()
        manifest_path = root / "pets/dataset.yaml"
        manifest_path.write_text(manifest_path.read_text().replace("spec:\n", "spec:\n  prune: true\n", 1))
        changed = cli(["plan", "pets"], root, token)
        assert "new.png" in changed.out and "dog.png" in changed.out, changed.out
        applied = cli(["apply", "--auto-approve", "pets"], root, token)
        assert applied.code == 0, applied.text
        project = ls_client.get_project(made["id"])
        assert project.label_config == CONFIG  # never rewritten
        assert project.description.startswith("Pets of the team.\n")
        tasks = {t.data["photo"].rsplit("/", 1)[1].split("-", 1)[-1]: t for t in ls_client.iter_tasks(made["id"], fields="all")}
        assert sorted(tasks) == ["cat.png", "empty.png", "new.png"]
        assert tasks["new.png"].data["remotePath"] == "new.png" and ls_client.download(tasks["new.png"].data["photo"]) == image(20)
        [region] = tasks["new.png"].predictions[0].result
        assert (region["from_name"], region["to_name"], region["value"]["rectanglelabels"]) == ("label", "img", ["dog"])
        [choice] = [p for p in tasks["empty.png"].predictions if p.model_version == "labelsync"][0].result
        assert (choice["from_name"], choice["value"]["choices"]) == ("weather", ["rainy"])
        assert len(tasks["cat.png"].annotations) == 2 and tasks["cat.png"].predictions == []  # human work untouched
        replan = cli(["plan", "--detailed-exitcode", "pets"], root, token)
        assert replan.code == 0, replan.text
        assert "No changes" in replan.out

        # the config is the project's: a catalog change is blocked, never a PATCH
        from ruamel.yaml import YAML

        doc = YAML(typ="safe", pure=True).load(manifest_path.read_text())
        doc["spec"]["catalog"]["CLASSIFICATION"]["categories"].append({"name": "foggy"})
        manifest_path.write_text(json.dumps(doc))
        blocked = cli(["apply", "--auto-approve", "pets"], root, token)
        assert blocked.code != 0 and "labelsync adopted and never rewrites" in blocked.text, blocked.text
        assert ls_client.get_project(made["id"]).label_config == CONFIG
    finally:
        ls_client.delete_project(made["id"])


def test_import_of_a_project_title_that_does_not_exist_is_one_line(labelstudio, tmp_path) -> None:
    root = repo(tmp_path / "r", labelstudio.url)
    result = cli(["import", "ls", f"nothing-{uuid.uuid4().hex[:6]}"], root, labelstudio.legacy_token)
    assert result.code != 0 and "Traceback" not in result.text
    assert "has no dataset" in result.err
    assert not (root / "nothing").exists()


def test_tasks_of_a_users_project_are_keyed_by_their_file_names() -> None:
    from labelsync.providers.labelstudio import adopted, wire

    controls = adopted.read_config(CONFIG)
    assert controls.image_key == "photo" and dict(controls.renames) == {"label": "box2d", "weather": "classification"}
    assert controls.catalog["BOX2D"] == {"categories": [{"name": "cat"}, {"name": "dog", "description": "a good one"}]}
    tasks = [wire.Task(id=1, data={"photo": "/data/upload/3/1a2b3c4d-cat.png"}),
             wire.Task(id=2, data={"photo": "/data/upload/3/00aa11bb-dog.png"}),
             wire.Task(id=3, data={"photo": "/data/upload/3/22cc33dd-dog.png"}),
             wire.Task(id=4, data={"photo": "/data/local-files/?d=pets/x%20y.png"}),
             wire.Task(id=5, data={"text": "no image"}),
             wire.Task(id=6, data={"image": "/data/upload/3/x.png", "segment": "train", "remotePath": "a/x.png"})]
    keyed, missing = adopted.keys(tasks, controls)
    assert {k: t.id for k, t in keyed.items()} == {
        ("default", "cat.png"): 1, ("default", "00aa11bb-dog.png"): 2, ("default", "22cc33dd-dog.png"): 3,
        ("default", "x y.png"): 4, ("train", "a/x.png"): 6}  # fmt: skip
    assert missing == 1
    assert adopted.dataset_name("My pets: 2024!") == "My-pets-2024"
