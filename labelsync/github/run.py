"""The GitHub Action's entry point (``labelsync action-run``): run a command, report it.

:func:`run_action` does, in order:

1. read the inputs (``INPUT_*``) and the runner environment (``GITHUB_*``);
2. print ``::add-mask::`` for every secret value (see :mod:`labelsync.github.mask`);
3. run ``labelsync <command>`` in the working directory, its output scrubbed and wrapped
   in ``::stop-commands::`` so that text from manifests cannot issue workflow commands;
4. on failure, run ``labelsync validate --format json`` and print its diagnostics as
   ``::error file=...,line=...,col=...::`` annotations;
5. write the markdown report to ``$GITHUB_STEP_SUMMARY``, the outputs to
   ``$GITHUB_OUTPUT`` and, when asked on a pull request, create or update one comment.

It returns the step's exit code: the CLI's, except that ``plan``'s exit 2 (changes
present) becomes 0 unless ``fail-on-changes`` is set. Outputs always carry the CLI's own
code. Everything written anywhere is scrubbed of secrets first. A comment that cannot be
posted (for example a read-only token on a fork's pull request) is a warning, not a failure.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labelsync.errors import LabelsyncError, UsageError
from labelsync.github import annotations as gh_annotations
from labelsync.github import outputs, report
from labelsync.github.comment import GitHubApi, upsert_comment
from labelsync.github.env import GitHubEnv
from labelsync.github.inputs import ActionInputs, command_args, diagnostics_args
from labelsync.github.invoke import Completed, run_cli
from labelsync.github.mask import Scrubber
from labelsync.plan.serialize import loads_plan

Emit = Callable[[str], None]


def _stdout_line(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@dataclass(frozen=True)
class Outcome:
    """What the run produced: the values of the action's outputs and the markdown body."""

    exit_code: int
    has_changes: bool
    plan_path: str
    plan_markdown_path: str
    summary: str
    body: str
    plan_html_path: str = ""
    report_artifact: str = ""

    def outputs(self) -> dict[str, str]:
        return {
            "exit-code": str(self.exit_code),
            "has-changes": "true" if self.has_changes else "false",
            "plan-path": self.plan_path,
            "plan-markdown-path": self.plan_markdown_path,
            "plan-html-path": self.plan_html_path,
            "report-artifact": self.report_artifact,
            "summary": self.summary,
        }


def run_action(environ: Mapping[str, str], *, emit: Emit = _stdout_line) -> int:
    """Run the action as configured by ``environ``; return the step's exit code."""
    gh = GitHubEnv.from_environ(environ)
    inputs = ActionInputs.from_environ(environ)
    workspace = gh.workspace or Path.cwd()
    cwd = (workspace / inputs.working_directory).resolve()
    if not cwd.is_dir():
        raise UsageError(f"input `working-directory`: {inputs.working_directory} is not a directory")
    scrub = Scrubber.from_environ(environ, _config_files(cwd, workspace))
    for line in scrub.mask_commands():
        emit(line)

    marker = report.marker_for(inputs.command, inputs.working_directory, inputs.paths)
    context = report.context_line(inputs.working_directory, inputs.paths, gh.head_sha, gh.run_url)
    plan_path = _plan_path(inputs, gh, cwd, marker)
    if inputs.command == "plan":
        plan_path.parent.mkdir(parents=True, exist_ok=True)
        plan_path.unlink(missing_ok=True)  # never report a previous run's plan

    child_env = {**environ, "CI": environ.get("CI", "true")}
    completed = _guarded(
        lambda: run_cli(command_args(inputs, plan_path=str(plan_path)), cwd=cwd, env=child_env, scrub=scrub),
        emit,
    )
    outcome = _outcome(inputs, completed, plan_path=plan_path, marker=marker, context=context, gh=gh, scrub=scrub)

    if completed.exit_code == 1:
        found = _annotations(inputs, cwd=cwd, workspace=workspace, env=child_env, scrub=scrub)
        for line in _not_yet_annotated(found, gh.runner_temp):
            emit(line)
    step_code = _step_exit_code(inputs, completed.exit_code)
    if inputs.command == "plan" and completed.exit_code == 2 and inputs.fail_on_changes:
        emit(gh_annotations.workflow_command("error", outcome.summary, title="labelsync: changes present"))

    outputs.append_summary(gh.summary_path, scrub(outcome.body))
    outputs.write_outputs(gh.output_path, {k: scrub(v) for k, v in outcome.outputs().items()})
    if inputs.comment:
        _comment(inputs, gh, marker, scrub(outcome.body), emit, scrub)
    return step_code


def _guarded(run: Callable[[], Completed], emit: Emit) -> Completed:
    """Run the CLI between ``::stop-commands::`` and its resume line."""
    token = f"labelsync-{secrets.token_hex(12)}"
    emit(f"::stop-commands::{token}")
    try:
        return run()
    finally:
        emit(f"::{token}::")


def _config_files(cwd: Path, workspace: Path) -> list[Path]:
    """``labelsync.yaml`` in the working directory and each parent up to the workspace."""
    found = []
    for folder in [cwd, *cwd.parents]:
        found.append(folder / "labelsync.yaml")
        if folder == workspace.resolve():
            break
    return found


def _plan_path(inputs: ActionInputs, gh: GitHubEnv, cwd: Path, marker: str) -> Path:
    if inputs.plan_file:
        return cwd / inputs.plan_file
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", marker.removeprefix("<!--").removesuffix("-->").strip()).strip("_.")
    base = gh.runner_temp / "labelsync" if gh.runner_temp else cwd / ".labelsync" / "action"
    return base / (slug or "plan") / "plan.json"


def _outcome(
    inputs: ActionInputs,
    completed: Completed,
    *,
    plan_path: Path,
    marker: str,
    context: str,
    gh: GitHubEnv,
    scrub: Scrubber,
) -> Outcome:
    code = completed.exit_code
    title = report.heading(inputs.command, context)
    if code not in (0, 2) or (code == 2 and inputs.command != "plan"):
        return Outcome(
            code,
            False,
            "",
            "",
            f"labelsync {inputs.command} failed (exit code {code}): {_error_line(completed.log_tail)}",
            report.failure_body(marker=marker, title=title, exit_code=code, log_tail=completed.log_tail),
        )
    if inputs.command == "plan":
        return _plan_outcome(completed, plan_path=plan_path, marker=marker, context=context, gh=gh, scrub=scrub)
    last = _last_line(completed.stdout) or f"labelsync {inputs.command}: done."
    body = f"{marker}\n{title}\n\n"
    if completed.stdout.strip():
        body += "```text\n" + completed.stdout.strip().replace("```", "'''") + "\n```\n"
    else:
        body += f"{last}\n"
    body = report.fit(body, report.COMMENT_LIMIT, report.truncation_note(gh.run_url))
    return Outcome(code, False, str(plan_path) if inputs.plan_file else "", "", last, body)


def _plan_outcome(
    completed: Completed, *, plan_path: Path, marker: str, context: str, gh: GitHubEnv, scrub: Scrubber
) -> Outcome:
    try:
        plan = loads_plan(plan_path.read_text(encoding="utf-8"), origin=str(plan_path))
    except OSError:
        raise UsageError(
            f"labelsync plan exited {completed.exit_code} but wrote no plan file at {plan_path}"
        ) from None
    markdown_path = plan_path.with_suffix(".md")
    markdown_path.write_text(scrub(report.full_plan_markdown(plan, context)), encoding="utf-8")
    html_path, artifact, html_size = _html_report(plan, plan_path, marker, scrub)
    note = report.report_line(artifact, gh.run_url, html_size) if html_path else ""
    body = report.plan_body(plan, marker=marker, context=context, run_url=gh.run_url, report_note=note)
    return Outcome(
        completed.exit_code, plan.has_changes, str(plan_path), str(markdown_path), plan.summary_line(), body,
        str(html_path or ""), artifact if html_path else "",
    )  # fmt: skip


def _html_report(plan: Any, plan_path: Path, marker: str, scrub: Scrubber) -> tuple[Path | None, str, int]:
    """Write the HTML report next to the plan: ``(path, artifact name, size)``; ``(None, "", 0)``
    when it cannot be made (no Pillow: the comment then has no report link)."""
    from labelsync.plan.render_html import render_html

    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", marker.removeprefix("<!--").removesuffix("-->").strip()).strip("_.")
    try:
        text = scrub(render_html(plan))
    except LabelsyncError:
        return None, "", 0
    path = plan_path.with_suffix(".html")
    path.write_text(text, encoding="utf-8")
    return path, f"labelsync-report-{slug or 'plan'}", len(text.encode("utf-8"))


def _step_exit_code(inputs: ActionInputs, code: int) -> int:
    if inputs.command == "plan" and code == 2 and not inputs.fail_on_changes:
        return 0
    return code


def _annotations(
    inputs: ActionInputs, *, cwd: Path, workspace: Path, env: Mapping[str, str], scrub: Scrubber
) -> list[str]:
    """Annotations for the manifests' diagnostics, or none when they cannot be had."""
    completed = run_cli(diagnostics_args(inputs), cwd=cwd, env=env, scrub=scrub, echo=False)
    try:
        doc: Any = json.loads(completed.stdout)
    except ValueError:
        return []
    if isinstance(doc, dict):
        doc = doc.get("diagnostics", [])
    if not isinstance(doc, list):
        return []
    diagnostics = [d for d in doc if isinstance(d, dict)]
    return gh_annotations.annotation_lines(diagnostics, cwd=cwd, workspace=workspace, scrub=scrub)


def _not_yet_annotated(lines: list[str], runner_temp: Path | None) -> list[str]:
    """``lines`` minus those an earlier step of this job already printed (a validate step
    followed by a plan step would otherwise annotate each problem twice). The record lives
    in ``$RUNNER_TEMP``, which the runner empties for every job."""
    if runner_temp is None:
        return lines
    record = runner_temp / "labelsync" / "annotations.txt"
    try:
        seen = set(record.read_text(encoding="utf-8").splitlines()) if record.is_file() else set()
        fresh = [line for line in dict.fromkeys(lines) if line not in seen]
        record.parent.mkdir(parents=True, exist_ok=True)
        with record.open("a", encoding="utf-8") as fh:
            fh.writelines(line + "\n" for line in fresh)
    except OSError:
        return lines
    return fresh


def _comment(inputs: ActionInputs, gh: GitHubEnv, marker: str, body: str, emit: Emit, scrub: Scrubber) -> None:
    number = gh.pull_request_number
    if number is None:
        emit(f"::notice title=labelsync::not a pull request event ({gh.event_name or 'unknown'}); no comment posted")
        return
    if not inputs.github_token or not gh.repository:
        emit("::warning title=labelsync::input `github-token` is empty; no comment posted")
        return
    api = GitHubApi(gh.api_url, inputs.github_token)
    try:
        result = upsert_comment(api, gh.repository, number, marker, body)
    except LabelsyncError as exc:
        message = exc.message + (f" (hint: {exc.hint})" if exc.hint else "")
        emit(gh_annotations.workflow_command("warning", scrub(f"could not comment: {message}"), title="labelsync"))
        return
    emit(scrub(f"labelsync: {result.action} comment {result.url or result.id} on #{number}"))


def _error_line(log: str) -> str:
    for line in reversed(log.splitlines()):
        if line.startswith("Error:"):
            return line.removeprefix("Error:").strip()
    return _last_line(log) or "see the log"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def main() -> int:
    """``labelsync action-run``: :func:`run_action` on this process's environment."""
    return run_action(os.environ)
