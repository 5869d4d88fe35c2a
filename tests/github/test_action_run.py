"""``labelsync action-run`` in a GitHub-like environment, with a scripted CLI (``fake_cli.py``)
returning synthetic plans built from real :mod:`labelsync.plan.model` objects.

The entry point, masking, outputs, summary, annotations and the HTTP calls to the fake
GitHub API are all real; only the child ``labelsync`` process is scripted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labelsync.github.report import COMMENT_LIMIT, github_length
from labelsync.plan.serialize import loads_plan

from .conftest import HEAD_SHA, PR_NUMBER, REPO, Harness, make_plan
from .fake_github import FakeGitHub

MARKER = "<!-- labelsync-plan: . -->"


def plan_scenario(action: Harness, plan_file: Path, code: int = 2) -> None:
    action.scenario({"plan": {"exit": code, "plan": str(plan_file), "stdout": "Plan: text view\n"}})


def test_first_run_creates_the_comment_second_run_updates_it(action: Harness, github: FakeGitHub) -> None:
    plan_scenario(action, action.write_plan(make_plan(3)))
    first = action.run()
    plan_scenario(action, action.write_plan(make_plan(5), name="second.json"))
    second = action.run()

    assert (first.code, second.code) == (0, 0)
    comments = github.comments_on(REPO, PR_NUMBER)
    assert len(comments) == 1
    assert [r.method for r in github.writes()] == ["POST", "PATCH"]
    body = comments[0]["body"]
    assert body.startswith(MARKER + "\n## labelsync plan\n")
    assert "**Plan: 6 to create, 1 to update, 0 to delete, 0 to replace; 10.0 KiB to upload.**" in body
    assert f"commit `{HEAD_SHA[:12]}`" in body and "https://github.com/octo-org/datasets/actions/runs/4242" in body
    assert "labelsync: updated comment" in second.stdout


def test_changes_are_an_output_not_a_failure(action: Harness) -> None:
    plan = make_plan(3)
    plan_scenario(action, action.write_plan(plan))
    result = action.run()

    assert result.code == 0
    assert result.outputs["exit-code"] == "2"
    assert result.outputs["has-changes"] == "true"
    assert result.outputs["summary"] == plan.summary_line()
    saved = Path(result.outputs["plan-path"])
    assert saved.is_relative_to(action.runner_temp)
    assert loads_plan(saved.read_text()) == plan
    assert Path(result.outputs["plan-markdown-path"]).read_text().startswith("## labelsync plan\n")
    assert result.summary.startswith(MARKER + "\n## labelsync plan\n")
    args = action.cli_calls()[0]["args"]
    assert args == ["plan", "-o", str(saved), "--detailed-exitcode"]


def test_no_changes(action: Harness, github: FakeGitHub) -> None:
    plan_scenario(action, action.write_plan(make_plan(with_changes=False)), code=0)
    result = action.run()

    assert result.code == 0
    assert result.outputs["has-changes"] == "false"
    assert result.outputs["summary"] == "No changes. The remote matches the manifests."
    assert "No changes." in github.comments_on(REPO, PR_NUMBER)[0]["body"]


def test_fail_on_changes_fails_the_step(action: Harness) -> None:
    action.inputs(fail_on_changes="true")
    plan_scenario(action, action.write_plan(make_plan(1)))
    result = action.run()

    assert result.code == 2
    assert result.outputs["exit-code"] == "2" and result.outputs["has-changes"] == "true"
    assert "::error title=labelsync%3A changes present::Plan: 2 to create, 1 to update" in result.stdout


@pytest.mark.slow
def test_huge_plan_stays_under_the_comment_limit(action: Harness, github: FakeGitHub) -> None:
    plan = make_plan(100_000)
    plan_scenario(action, action.write_plan(plan))
    result = action.run()

    assert result.code == 0
    body = github.comments_on(REPO, PR_NUMBER)[0]["body"]
    assert github_length(body) < COMMENT_LIMIT
    assert body.startswith(MARKER) and "**Plan: 100001 to create" in body
    assert "truncated" in body.lower()
    assert github_length(result.summary) < COMMENT_LIMIT
    full_json = Path(result.outputs["plan-path"])
    assert len(loads_plan(full_json.read_text()).datasets[0].changes) == 100_002
    full_md = Path(result.outputs["plan-markdown-path"]).read_text()
    assert "099999.jpg" in full_md and "099999.jpg" not in body


def test_secrets_never_appear_in_anything_written(action: Harness, github: FakeGitHub) -> None:
    secrets = {
        "TENSORBAY_ACCESS_KEY": "secret-xyz-tensorbay-0001",
        "DEEPEN_API_TOKEN": "secret-xyz-deepen-0002",
        "CUSTOM_REMOTE_CREDS": "secret-xyz-custom-0003",
    }
    action.env.update(secrets)
    (action.root / "labelsync.yaml").write_text(
        "remotes:\n  other: {provider: tensorbay, url: 'http://x/', token_env: CUSTOM_REMOTE_CREDS}\n"
    )
    leaky = make_plan(2, dataset="ds-secret-xyz-tensorbay-0001")
    leak = "token={env:TENSORBAY_ACCESS_KEY} deepen={env:DEEPEN_API_TOKEN} custom={env:CUSTOM_REMOTE_CREDS}\n"
    action.scenario(
        {"plan": {"exit": 2, "plan": str(action.write_plan(leaky)), "stdout": leak, "stderr": leak}}
    )
    ok = action.run()
    action.scenario({"plan": {"exit": 1, "stdout": leak, "stderr": "Error: " + leak}, "validate": {"exit": 1, "stdout": "[]"}})
    failed = action.run()

    assert (ok.code, failed.code) == (0, 1)
    masks = [line for line in ok.stdout.splitlines() if line.startswith("::add-mask::")]
    assert set(secrets.values()) <= {m.removeprefix("::add-mask::") for m in masks}
    assert "token=*** deepen=*** custom=***" in ok.stdout
    written = [
        ok.log_without_masks(),
        ok.outputs_raw,
        ok.summary,
        failed.log_without_masks(),
        failed.outputs_raw,
        failed.summary,
        Path(ok.outputs["plan-markdown-path"]).read_text(),
        *(c["body"] for c in github.comments),
        *(json.dumps(r.body) for r in github.requests),
    ]
    for text in written:
        for value in secrets.values():
            assert value not in text
    assert "ds-***" in ok.summary


def test_error_fails_the_step_with_annotations_and_a_failure_comment(action: Harness, github: FakeGitHub) -> None:
    (action.root / "infra").mkdir()
    action.inputs(working_directory="infra", paths="datasets")
    diagnostics = {
        "version": 1,
        "valid": False,
        "diagnostics": [
            {"file": "datasets/city.yaml", "line": 7, "column": 3, "message": "unknown field 'segmentz'",
             "path": "spec.segmentz", "hint": None, "severity": "error"},
        ],
    }
    action.scenario(
        {
            "plan": {"exit": 1, "stderr": "datasets/city.yaml:7:3: unknown field\nError: 1 problem found in 1 file(s)\n"},
            "validate": {"exit": 1, "stdout": json.dumps(diagnostics)},
        }
    )
    result = action.run()

    assert result.code == 1
    assert (
        "::error file=infra/datasets/city.yaml,line=7,col=3,title=labelsync::unknown field 'segmentz' [spec.segmentz]"
        in result.stdout.splitlines()
    )
    assert result.outputs["exit-code"] == "1" and result.outputs["has-changes"] == "false"
    assert result.outputs["summary"] == "labelsync plan failed (exit code 1): 1 problem found in 1 file(s)"
    assert result.outputs["plan-path"] == ""
    body = github.comments_on(REPO, PR_NUMBER)[0]["body"]
    assert body.startswith("<!-- labelsync-plan: infra datasets -->\n### labelsync plan\n`infra datasets`")
    assert "**Failed** with an error (exit code 1)." in body and "Error: 1 problem found" in body
    assert [c["args"] for c in action.cli_calls()][1] == ["validate", "datasets", "--format", "json"]
    assert all(c["cwd"] == str(action.root / "infra") for c in action.cli_calls())


def test_a_later_step_does_not_repeat_annotations(action: Harness) -> None:
    diagnostics = [{"file": "a.yaml", "line": 2, "column": 1, "message": "bad"}]
    steps = {"validate": {"exit": 1, "stdout": json.dumps(diagnostics)}, "plan": {"exit": 1, "stderr": "Error: bad\n"}}
    action.scenario(steps)
    action.inputs(command="validate")
    first = action.run()
    action.inputs(command="plan")
    second = action.run()

    annotation = "::error file=a.yaml,line=2,col=1,title=labelsync::bad"
    assert annotation in first.stdout.splitlines()
    assert annotation not in second.stdout.splitlines()
    assert second.code == 1


def test_internal_error_fails_the_step(action: Harness, github: FakeGitHub) -> None:
    action.scenario({"plan": {"exit": 3, "stderr": "Traceback...\nlabelsync hit an internal error (a bug).\n"}})
    result = action.run()
    assert result.code == 3
    assert result.outputs["exit-code"] == "3"
    assert "internal error (please report it)" in github.comments_on(REPO, PR_NUMBER)[0]["body"]


def test_cli_output_cannot_issue_workflow_commands(action: Harness) -> None:
    action.scenario({"plan": {"exit": 0, "plan": str(action.write_plan(make_plan(0, with_changes=False))),
                               "stdout": "::set-env name=X::y\n"}})
    lines = action.run().stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("::stop-commands::"))
    token = lines[start].removeprefix("::stop-commands::")
    assert lines.index(f"::{token}::") > lines.index("::set-env name=X::y") > start


def test_not_a_pull_request_posts_no_comment(action: Harness, github: FakeGitHub) -> None:
    action.set_event({"ref": "refs/heads/main", "after": "f" * 40})
    action.env["GITHUB_EVENT_NAME"] = "push"
    plan_scenario(action, action.write_plan(make_plan(1)))
    result = action.run()
    assert result.code == 0
    assert "::notice title=labelsync::not a pull request event (push); no comment posted" in result.stdout
    assert github.requests == []
    assert result.summary.startswith(MARKER)


def test_comment_false_posts_nothing(action: Harness, github: FakeGitHub) -> None:
    action.inputs(comment="false")
    plan_scenario(action, action.write_plan(make_plan(1)))
    assert action.run().code == 0
    assert github.requests == []


def test_read_only_token_warns_but_does_not_fail(action: Harness, github: FakeGitHub) -> None:
    github.read_only = True
    plan_scenario(action, action.write_plan(make_plan(1)))
    result = action.run()
    assert result.code == 0
    assert "::warning title=labelsync::could not comment: GitHub API POST" in result.stdout
    assert "Resource not accessible by integration" in result.stdout
    assert result.outputs["has-changes"] == "true"


def test_apply_a_reviewed_plan_file(action: Harness) -> None:
    reviewed = action.root / "reviewed" / "plan.json"
    reviewed.parent.mkdir()
    reviewed.write_text("{}")
    action.inputs(command="apply", plan_file="reviewed/plan.json", args="--message 'merge #7'", comment="false")
    action.scenario({"apply": {"exit": 0, "stdout": "Applying...\nApply complete: 6 created.\n"}})
    result = action.run()

    assert result.code == 0
    assert action.cli_calls()[0]["args"] == ["apply", "reviewed/plan.json", "--auto-approve", "--message", "merge #7"]
    assert result.outputs["summary"] == "Apply complete: 6 created."
    assert result.outputs["plan-path"] == str(reviewed)
    assert "### labelsync apply" in result.summary and "Apply complete: 6 created." in result.summary


def test_stale_plan_fails_apply(action: Harness) -> None:
    action.inputs(command="apply", plan_file="plan.json", comment="false")
    action.scenario({"apply": {"exit": 1, "stderr": "Error: plan is stale: the remote moved\n"}, "validate": {"exit": 0, "stdout": "[]"}})
    result = action.run()
    assert result.code == 1
    assert result.outputs["summary"] == "labelsync apply failed (exit code 1): plan is stale: the remote moved"


def test_bad_input_is_one_error_line(action: Harness, github: FakeGitHub) -> None:
    action.inputs(command="destroy")
    result = action.run()
    assert result.code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: input `command`: 'destroy' is not one of validate, plan, apply, status",
        "Hint: set `with: command: plan` (or validate, apply, status)",
    ]
    assert "Traceback" not in result.stderr


def test_missing_working_directory(action: Harness) -> None:
    action.inputs(working_directory="nope")
    result = action.run()
    assert result.code == 1
    assert "Error: input `working-directory`: nope is not a directory" in result.stderr


def test_plan_writes_the_html_report_and_the_comment_links_it(action: Harness, github: FakeGitHub) -> None:
    plan_scenario(action, action.write_plan(make_plan(3)))
    result = action.run()
    assert result.code == 0
    html_path = Path(result.outputs["plan-html-path"])
    assert html_path == Path(result.outputs["plan-path"]).with_suffix(".html")
    assert html_path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert result.outputs["report-artifact"] == "labelsync-report-labelsync-plan"
    [comment] = github.comments_on(REPO, PR_NUMBER)
    assert (
        "**Visual report** (images with before/after labels): artifact `labelsync-report-labelsync-plan` of "
        "the [workflow run](https://github.com/octo-org/datasets/actions/runs/4242) (" in comment["body"]
    )
