"""The action's entry point run exactly as ``action.yml`` runs it (``python -m labelsync
action-run`` in a subprocess) with the real CLI: validate, then plan, apply the reviewed plan
and re-plan ``examples/quickstart`` against the embedded local emulator (no labelsync.yaml)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from labelsync.plan.serialize import loads_plan

from .conftest import PR_NUMBER, REPO, Harness
from .fake_github import FakeGitHub

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TOKEN = "secret-xyz-e2e-access-key-0042"


@pytest.mark.slow
def test_validate_broken_manifest_annotates_the_file_and_line(action: Harness, github: FakeGitHub) -> None:
    datasets = action.root / "datasets"
    datasets.mkdir()
    (datasets / "city.yaml").write_text(
        "apiVersion: labelsync/v1\nkind: Dataset\nmetadata:\n  name: city\nspec:\n  tensorbay: {type: normal}\n  segmentz: []\n"
    )
    action.inputs(command="validate", paths="datasets")
    result = action.run_subprocess()

    assert result.code == 1
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::error ")]
    assert annotations == [
        "::error file=datasets/city.yaml,line=7,col=3,title=labelsync::unknown field 'segmentz' "
        "(did you mean 'segments'?) [spec.segmentz]"
    ]
    assert "Traceback" not in result.stderr
    assert result.outputs["exit-code"] == "1"
    body = github.comments_on(REPO, PR_NUMBER)[0]["body"]
    assert body.startswith("<!-- labelsync-validate: . datasets -->\n### labelsync validate")
    assert "unknown field 'segmentz'" in body


@pytest.mark.slow
@pytest.mark.skipif(not (EXAMPLES / "quickstart").is_dir(), reason="examples/quickstart not present")
def test_plan_apply_replan_quickstart_on_the_embedded_emulator(action: Harness, github: FakeGitHub) -> None:
    subprocess.run(["git", "init", "-q", str(action.root)], check=True)  # a checkout, as on a runner
    shutil.copytree(EXAMPLES / "quickstart", action.root / "quickstart")
    action.env["TENSORBAY_ACCESS_KEY"] = TOKEN
    action.inputs(paths="quickstart")

    first = action.run_subprocess()
    assert first.code == 0, first.stderr
    assert (first.outputs["exit-code"], first.outputs["has-changes"]) == ("2", "true")
    assert first.outputs["summary"].startswith("Plan: 6 to create")
    second = action.run_subprocess()
    assert second.code == 0, second.stderr
    comments = github.comments_on(REPO, PR_NUMBER)
    assert len(comments) == 1 and [r.method for r in github.writes()] == ["POST", "PATCH"]
    assert comments[0]["body"].startswith("<!-- labelsync-plan: . quickstart -->\n## labelsync plan")
    assert "`quickstart`" in comments[0]["body"]

    reviewed = action.root.parent / "reviewed-plan.json"
    shutil.copyfile(second.outputs["plan-path"], reviewed)
    assert loads_plan(reviewed.read_text()).has_changes
    action.inputs(command="apply", paths="", plan_file=str(reviewed), comment="false")
    applied = action.run_subprocess()
    assert applied.code == 0, applied.stderr
    assert applied.outputs["exit-code"] == "0"

    action.inputs(command="plan", paths="quickstart", plan_file="", comment="true")
    replan = action.run_subprocess()
    assert replan.code == 0, replan.stderr
    assert (replan.outputs["exit-code"], replan.outputs["has-changes"]) == ("0", "false")
    assert "No changes" in github.comments_on(REPO, PR_NUMBER)[0]["body"]
    assert len(github.comments_on(REPO, PR_NUMBER)) == 1

    action.inputs(command="apply", paths="", plan_file=str(reviewed), comment="false")
    stale = action.run_subprocess()
    assert stale.code == 1
    assert "stale" in stale.outputs["summary"]

    for result in (first, second, applied, replan, stale):
        assert TOKEN not in result.log_without_masks()
        assert TOKEN not in result.outputs_raw and TOKEN not in result.summary
    assert all(TOKEN not in str(r.body) for r in github.requests)
