"""action.yml, the example workflows, the pre-commit hook and the docs agree with the code."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from labelsync.github.inputs import INPUT_ENV, ActionInputs
from labelsync.github.run import Outcome

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "docs" / "github-action.md").read_text(encoding="utf-8")
WORKFLOWS = ROOT / "examples" / "github-workflows"
ACTION_REF = "labelsync/labelsync@v0"


def load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


ACTION = load(ROOT / "action.yml")
RUN_STEP = next(step for step in ACTION["runs"]["steps"] if step.get("id") == "run")


def test_action_is_composite_and_installs_from_its_own_path() -> None:
    assert ACTION["runs"]["using"] == "composite"
    install = ACTION["runs"]["steps"][0]
    assert install["env"]["LABELSYNC_ACTION_PATH"] == "${{ github.action_path }}"
    assert 'pip install --quiet --disable-pip-version-check "${LABELSYNC_ACTION_PATH}[html]"' in install["run"]
    assert RUN_STEP["run"] == '"$LABELSYNC_PYTHON" -m labelsync action-run'


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_step_scripts_are_valid_bash() -> None:
    for step in (s for s in ACTION["runs"]["steps"] if "run" in s):
        done = subprocess.run(["bash", "-n"], input=step["run"], text=True, capture_output=True, check=False)
        assert done.returncode == 0, (step.get("name"), done.stderr)


def test_every_input_reaches_the_entry_point_through_its_env_variable() -> None:
    assert set(ACTION["inputs"]) == set(INPUT_ENV)
    for name, variable in INPUT_ENV.items():
        assert RUN_STEP["env"][variable] == f"${{{{ inputs.{name} }}}}"


def test_no_input_is_interpolated_into_a_script() -> None:
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step.get("name")


@pytest.mark.parametrize(
    ("name", "value", "field", "expected"),
    [
        ("command", "validate", "command", "validate"),
        ("paths", "a b", "paths", ("a", "b")),
        ("working-directory", "infra", "working_directory", "infra"),
        ("args", "--jobs 8", "args", ("--jobs", "8")),
        ("comment", "true", "comment", True),
        ("github-token", "ghs_x", "github_token", "ghs_x"),
        ("fail-on-changes", "true", "fail_on_changes", True),
        ("plan-file", "p.json", "plan_file", "p.json"),
    ],
)
def test_each_input_changes_what_the_entry_point_does(name: str, value: str, field: str, expected: object) -> None:
    parsed = ActionInputs.from_environ({INPUT_ENV[name]: value})
    assert getattr(parsed, field) == expected
    assert getattr(ActionInputs.from_environ({}), field) != expected


def test_every_input_description_names_its_cli_flag() -> None:
    for name, spec in ACTION["inputs"].items():
        description = spec["description"]
        assert re.search(r"`(labelsync [^`]+|--[a-z-]+[^`]*|PATHS|PLANFILE)`", description) or (
            "No CLI flag" in description
        ), name


def test_every_input_and_output_is_documented() -> None:
    for name in ACTION["inputs"]:
        assert f"| `{name}` |" in DOCS, name
    for name in ACTION["outputs"]:
        assert f"| `{name}` |" in DOCS, name


def test_outputs_are_the_ones_the_entry_point_writes() -> None:
    written = Outcome(0, False, "", "", "", "").outputs()
    assert set(ACTION["outputs"]) == set(written)
    for name, spec in ACTION["outputs"].items():
        assert spec["value"] == f"${{{{ steps.run.outputs.{name} }}}}"


def action_steps(workflow: Any) -> list[dict[str, Any]]:
    return [s for job in workflow["jobs"].values() for s in job["steps"] if s.get("uses") == ACTION_REF]


@pytest.mark.parametrize("name", ["plan.yml", "apply.yml", "drift.yml"])
def test_example_workflows_use_only_declared_inputs_and_outputs(name: str) -> None:
    text = (WORKFLOWS / name).read_text()
    workflow = load(WORKFLOWS / name)
    steps = action_steps(workflow)
    assert steps
    for step in steps:
        assert set(step.get("with", {})) <= set(ACTION["inputs"]), step.get("name")
    ids = {s["id"] for s in steps if "id" in s}
    for step_id, output in re.findall(r"steps\.([a-z-]+)\.outputs\.([a-z-]+)", text):
        if step_id in ids:
            assert output in ACTION["outputs"], (step_id, output)
    assert "examples/github-workflows/" in DOCS and name in DOCS
    assert not re.search(r"with:\s*\n(\s+[a-z-]+:.*\n)*\s+(token|access-key)", text)


def test_plan_workflow_comments_and_uploads_the_plan() -> None:
    workflow = load(WORKFLOWS / "plan.yml")
    assert "pull_request" in workflow["on"]
    assert workflow["permissions"]["pull-requests"] == "write"
    commands = [(s["with"]["command"], s["with"].get("comment")) for s in action_steps(workflow)]
    assert commands == [("validate", None), ("plan", True)]
    upload = next(s for s in workflow["jobs"]["plan"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["name"] == "labelsync-plan-pr-${{ github.event.pull_request.number }}"


def test_apply_workflow_is_serialised_and_applies_the_reviewed_plan() -> None:
    workflow = load(WORKFLOWS / "apply.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["concurrency"] == {"group": "labelsync-apply", "cancel-in-progress": False}
    apply = next(s for s in action_steps(workflow) if s["with"]["command"] == "apply")
    assert apply["with"]["plan-file"].startswith("${{ steps.reviewed.outputs.plan-file")
    assert "labelsync-plan-pr-$pr" in (WORKFLOWS / "apply.yml").read_text()


def test_drift_workflow_fails_on_changes() -> None:
    workflow = load(WORKFLOWS / "drift.yml")
    assert "schedule" in workflow["on"]
    [drift] = action_steps(workflow)
    assert drift["with"]["command"] == "plan" and drift["with"]["fail-on-changes"] is True
    assert workflow["concurrency"]["group"] != "labelsync-apply"


def test_pre_commit_hook() -> None:
    [hook] = load(ROOT / ".pre-commit-hooks.yaml")
    assert hook["id"] == "labelsync-validate"
    assert hook["entry"] == "labelsync validate"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
    files = re.compile(hook["files"])
    assert [bool(files.search(p)) for p in ["a.yaml", "d/b.yml", "labels.jsonl", "x.py", "yaml.txt"]] == [
        True, True, True, False, False,
    ]
    assert "labelsync-validate" in DOCS


def test_the_action_uploads_the_html_report() -> None:
    upload = ACTION["runs"]["steps"][-1]
    assert upload["uses"] == "actions/upload-artifact@v4"
    assert upload["if"] == "always() && steps.run.outputs.plan-html-path != ''"
    assert upload["with"]["name"] == "${{ steps.run.outputs.report-artifact }}"
    assert upload["with"]["path"] == "${{ steps.run.outputs.plan-html-path }}"
