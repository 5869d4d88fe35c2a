"""Action inputs -> CLI arguments."""

from __future__ import annotations

import pytest

from labelsync.errors import UsageError
from labelsync.github.inputs import INPUT_ENV, ActionInputs, command_args, diagnostics_args


def inputs(**values: str) -> ActionInputs:
    return ActionInputs.from_environ({INPUT_ENV[k.replace("_", "-")]: v for k, v in values.items()})


def test_defaults() -> None:
    parsed = ActionInputs.from_environ({})
    assert parsed == ActionInputs(command="plan")
    assert command_args(parsed, plan_path="/t/plan.json") == ["plan", "-o", "/t/plan.json", "--detailed-exitcode"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"command": "validate", "paths": "a.yaml  b/"}, ["validate", "a.yaml", "b/"]),
        ({"command": "validate", "args": "--format json"}, ["validate", "--format", "json"]),
        (
            {"command": "plan", "paths": "datasets\nmore", "args": "--prune --detailed-exitcode"},
            ["plan", "datasets", "more", "-o", "P", "--prune", "--detailed-exitcode"],
        ),
        ({"command": "apply", "plan_file": "reviewed/plan.json"}, ["apply", "reviewed/plan.json", "--auto-approve"]),
        (
            {"command": "apply", "paths": "datasets", "args": "--message 'merge #7' --jobs 8"},
            ["apply", "datasets", "--auto-approve", "--message", "merge #7", "--jobs", "8"],
        ),
        ({"command": "status", "paths": "datasets"}, ["status", "datasets"]),
        ({"command": "plan", "args": "$(rm -rf /) `x`"}, ["plan", "-o", "P", "--detailed-exitcode", "$(rm", "-rf", "/)", "`x`"]),
    ],
)
def test_command_args(values: dict[str, str], expected: list[str]) -> None:
    assert command_args(inputs(**values), plan_path="P") == expected


def test_diagnostics_args_use_the_same_paths() -> None:
    assert diagnostics_args(inputs(command="plan", paths="a b", args="--prune")) == ["validate", "a", "b", "--format", "json"]


@pytest.mark.parametrize("value", ["true", "TRUE", "yes", "1", "on"])
def test_true_values(value: str) -> None:
    assert inputs(comment=value).comment is True


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"command": "destroy"}, "input `command`: 'destroy' is not one of validate, plan, apply, status"),
        ({"comment": "maybe"}, "input `comment`: 'maybe' is not true or false"),
        ({"fail_on_changes": "2"}, "input `fail-on-changes`: '2' is not true or false"),
        ({"args": "'unclosed"}, "input `args` or `paths`: cannot split it (No closing quotation)"),
        ({"command": "apply", "paths": "x", "plan_file": "p.json"}, "inputs `paths` and `plan-file` are both set for apply"),
    ],
)
def test_bad_inputs(values: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as info:
        inputs(**values)
    assert info.value.message == message


def test_token_is_not_in_repr() -> None:
    assert "ghs_secret" not in repr(inputs(github_token="ghs_secret"))
