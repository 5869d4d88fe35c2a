"""labelsync.renames and the manifest side of renames (pure): labels and catalogs follow
declared renames, only the renames the remote still needs are kept, the catalog sent has no
rename keys, and an ambiguous rename is a validation error at its line."""

from __future__ import annotations

from pathlib import Path

from labelsync.manifest.model import Manifest, catalog_json
from labelsync.manifest.renaming import catalog_renames
from labelsync.manifest.validate import run as validate_paths
from labelsync.plan.model import Action, Change, FileChange, Kind, LabelState
from labelsync.plan.renameplan import catalog_lines, split_followers
from labelsync.renames import Renames, TypeRenames
from labelsync.state import Blob

_B = Blob("0" * 40, 1)

R = Renames({"BOX2D": TypeRenames({"bus": "coach"}, {"hidden": "occluded"}, {"colour": (("red", "crimson"),)})})
LIVE = {"BOX2D": {"categories": [{"name": "car"}, {"name": "bus"}],
                  "attributes": [{"name": "hidden", "type": "boolean", "parentCategories": ["bus"]},
                                 {"name": "colour", "enum": ["red", "blue"]}]}}


def test_labels_and_catalogs_follow_the_renames() -> None:
    label = {"BOX2D": [{"category": "bus", "attributes": {"hidden": True, "colour": "red"}}, {"category": "car"}],
             "CLASSIFICATION": {"category": "day"}}
    assert R.label(label) == {
        "BOX2D": [{"category": "coach", "attributes": {"occluded": True, "colour": "crimson"}}, {"category": "car"}],
        "CLASSIFICATION": {"category": "day"},
    }
    assert R.label(R.label(label)) == R.label(label)
    same = {"BOX2D": [{"category": "car"}]}
    assert R.label(same) is same
    assert R.catalog(LIVE) == {"BOX2D": {"categories": [{"name": "car"}, {"name": "coach"}],
                                         "attributes": [{"name": "occluded", "type": "boolean", "parentCategories": ["coach"]},
                                                        {"name": "colour", "enum": ["crimson", "blue"]}]}}
    assert Renames.from_json(R.json()).json() == R.json()


def test_only_renames_the_remote_still_needs_are_effective() -> None:
    assert R.effective(LIVE).json() == R.json()
    assert not R.effective(R.catalog(LIVE))  # already renamed
    assert not R.effective({})  # a new dataset


def test_the_plan_names_the_rename_and_folds_the_labels_that_follow() -> None:
    stats = {"segments": {"train": {"types": {"BOX2D": {"categories": {"bus": 312, "car": 4}}}}}}
    change = Change(Action.UPDATE, Kind.CATALOG, "dataset.d/catalog", before=LIVE, after=R.catalog(LIVE))
    assert catalog_lines(change, R.json(), stats)[:3] == [
        "~ BOX2D category: rename bus -> coach (312 labels follow)",
        "~ BOX2D attribute: rename hidden -> occluded (0 labels follow)",
        '~ BOX2D attribute colour: rename value "red" -> "crimson" (0 labels follow)',
    ]
    follows = Change(Action.UPDATE, Kind.LABEL, "dataset.d/segment.t/label.a", segment="t",
                     before=LabelState({"BOX2D": [{"category": "bus"}]}), after=FileChange("a", _B, label={"BOX2D": [{"category": "coach"}]}))
    more = Change(Action.UPDATE, Kind.LABEL, "dataset.d/segment.t/label.b", segment="t",
                  before=LabelState({"BOX2D": [{"category": "bus"}]}), after=FileChange("b", _B, label={"BOX2D": [{"category": "car"}]}))
    rest, followers = split_followers([follows, more], R.json())
    assert (followers.items, followers.labels) == (1, 1)
    assert [c.address for c in rest] == [more.address]
    assert rest[0].before.label == {"BOX2D": [{"category": "coach"}]}  # its diff shows coach -> car


def test_the_catalog_sent_has_no_rename_keys() -> None:
    m = Manifest.model_validate({"apiVersion": "labelsync/v1", "kind": "Dataset", "metadata": {"name": "d"}, "spec": {
        "catalog": {"BOX2D": {"categories": [{"name": "coach", "renamedFrom": "bus"}],
                              "attributes": [{"name": "colour", "enum": ["crimson"],
                                              "renamedValues": [{"value": "crimson", "renamedFrom": "red"}]}]}}}})
    assert catalog_json(m) == {"BOX2D": {"categories": [{"name": "coach"}], "attributes": [{"name": "colour", "enum": ["crimson"]}]}}
    assert catalog_renames(m).json() == {"BOX2D": {"categories": {"bus": "coach"}, "values": {"colour": [{"from": "red", "to": "crimson"}]}}}


def test_an_ambiguous_rename_is_an_error_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").write_text(
        "apiVersion: labelsync/v1\nkind: Dataset\nmetadata: {name: d}\nspec:\n  catalog:\n    BOX2D:\n"
        "      categories:\n        - {name: bus}\n        - {name: coach, renamedFrom: bus}\n"
        "      attributes:\n        - name: colour\n          enum: [crimson, red]\n"
        "          renamedValues: [{value: crimson, renamedFrom: red}]\n"
    )
    result = validate_paths([tmp_path / "d.yaml"], root=tmp_path, check_local=False)
    messages = [str(d) for d in result.diagnostics if d.severity == "error"]
    assert any(":9:" in m and "renamed from 'bus', which is still declared" in m for m in messages), messages
    assert any(":13:" in m and 'old value "red" is still in the enum' in m for m in messages), messages
