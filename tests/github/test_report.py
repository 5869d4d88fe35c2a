"""Markers, the length guard and the plan/failure bodies."""

from __future__ import annotations

import pytest

from labelsync.github.report import (
    COMMENT_LIMIT,
    context_line,
    failure_body,
    fit,
    full_plan_markdown,
    github_length,
    heading,
    marker_for,
    plan_body,
)

from .conftest import make_plan


@pytest.mark.parametrize(
    ("command", "wd", "paths", "marker"),
    [
        ("plan", ".", (), "<!-- labelsync-plan: . -->"),
        ("plan", "", (), "<!-- labelsync-plan: . -->"),
        ("plan", "infra/data", ("a.yaml", "b/"), "<!-- labelsync-plan: infra/data a.yaml b/ -->"),
        ("validate", "x-->y", (), "<!-- labelsync-validate: x-y -->"),
        ("plan", "a---b", ("<c>",), "<!-- labelsync-plan: a-b <c -->"),
    ],
)
def test_marker(command: str, wd: str, paths: tuple[str, ...], marker: str) -> None:
    assert marker_for(command, wd, paths) == marker


def test_github_length_counts_utf16_units() -> None:
    assert github_length("abc") == 3
    assert github_length("é") == 1
    assert github_length("🚀") == 2


def test_fit_keeps_short_bodies() -> None:
    assert fit("short", 100, "note") == "short"


def test_fit_cuts_at_a_line_and_closes_code_and_details() -> None:
    body = "\n".join(["<details><summary>x</summary>", "", "```"] + [f"line {i}" for i in range(2000)])
    cut = fit(body, 3000, "NOTE")
    assert github_length(cut) <= 3000
    assert cut.endswith("```\n</details>\n\nNOTE\n")
    assert "line 0\n" in cut and "line 1999" not in cut


def test_context_and_heading() -> None:
    assert context_line(".", (), "", "") == ""
    context = context_line("infra", ("a.yaml",), "0123456789abcdef", "https://x/run/1")
    assert context == "`infra a.yaml` · commit `0123456789ab` · [workflow run](https://x/run/1)"
    assert heading("status", context) == f"### labelsync status\n{context}"
    assert heading("status", "") == "### labelsync status"


def test_plan_body_has_marker_plan_and_footer() -> None:
    body = plan_body(make_plan(3), marker="<!-- m -->", context="`infra`", run_url="https://x/run")
    assert body.startswith("<!-- m -->\n## labelsync plan\n\n**Plan: 4 to create, 1 to update")
    assert body.endswith("\n\n<sub>`infra`</sub>\n")
    assert "truncated" not in body.lower()


@pytest.mark.slow
def test_huge_plan_fits_the_comment_limit() -> None:
    plan = make_plan(100_000)
    body = plan_body(plan, marker="<!-- m -->", context="`infra`", run_url="https://x/run")
    assert github_length(body) < COMMENT_LIMIT
    assert body.startswith("<!-- m -->\n## labelsync plan\n\n**Plan: 100001 to create, 1 to update")
    assert "truncated" in body.lower()
    assert body.endswith("<sub>`infra`</sub>\n")
    full = full_plan_markdown(plan, "`infra`")
    assert "000000.jpg" in full and "099999.jpg" in full
    assert "099999.jpg" not in body


def test_failure_body_neutralises_code_fences() -> None:
    body = failure_body(marker="<!-- m -->", title="### t", exit_code=1, log_tail="Error: bad\n```\ninjected")
    assert "**Failed** with an error (exit code 1)." in body
    assert body.count("```") == 2
    assert "internal error" in failure_body(marker="<!-- m -->", title="### t", exit_code=3, log_tail="")


def test_plan_body_shows_the_label_statistics() -> None:
    from labelsync.plan.model import Action, Change, DatasetPlan, Kind, Plan

    def side(n: int) -> dict:
        return {"segments": {"train": {"items": n, "unlabelled": 0, "types": {"BOX2D": {"labels": n, "categories": {"car": n}, "attributes": {}}}}}}

    change = Change(Action.UPDATE, Kind.LABEL, "dataset.city/segment.train/label.a", segment="train")
    plan = Plan(datasets=(DatasetPlan("city", "r", "tensorbay", "normal", "c", "d", changes=(change,), stats={"before": side(1204), "after": side(1251)}),))
    body = plan_body(plan, marker="<!-- m -->", context="", run_url="")
    assert "| `city` | `train` | `BOX2D car` | 1,204 | 1,251 | +47 |" in body
