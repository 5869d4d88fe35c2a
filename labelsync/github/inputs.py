"""The action's inputs, read from ``INPUT_*`` variables, and the CLI arguments they become.

``action.yml`` passes each input to the entry point as an environment variable (never by
interpolating it into a shell script, which would let a crafted value run commands):
:data:`INPUT_ENV` is that mapping, and the tests check ``action.yml`` against it.

How inputs map to the CLI::

    command            labelsync <command>               validate | plan | apply | status
    paths              PATHS (space or newline separated)
    working-directory  where labelsync runs (cwd)
    args               extra CLI arguments, split like a shell would (no expansion)
    plan-file          plan: -o FILE (where to save the plan); apply: PLANFILE (the reviewed plan)
    fail-on-changes    plan: exit 2 (--detailed-exitcode) fails the step
    comment            comment on the pull request (plan: the plan; others: the outcome)
    github-token       the token for that comment (never passed to the CLI)
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from labelsync.errors import UsageError

COMMANDS = ("validate", "plan", "apply", "status")

INPUT_ENV = {
    "command": "INPUT_COMMAND",
    "paths": "INPUT_PATHS",
    "working-directory": "INPUT_WORKING_DIRECTORY",
    "args": "INPUT_ARGS",
    "comment": "INPUT_COMMENT",
    "github-token": "INPUT_GITHUB_TOKEN",
    "fail-on-changes": "INPUT_FAIL_ON_CHANGES",
    "plan-file": "INPUT_PLAN_FILE",
}

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off", ""}


@dataclass(frozen=True)
class ActionInputs:
    """The parsed inputs. ``github_token`` is kept out of ``repr``."""

    command: str
    paths: tuple[str, ...] = ()
    working_directory: str = "."
    args: tuple[str, ...] = ()
    comment: bool = False
    fail_on_changes: bool = False
    plan_file: str = ""
    github_token: str = ""

    def __repr__(self) -> str:
        return (
            f"ActionInputs(command={self.command!r}, paths={self.paths!r}, "
            f"working_directory={self.working_directory!r}, args={self.args!r}, comment={self.comment}, "
            f"fail_on_changes={self.fail_on_changes}, plan_file={self.plan_file!r})"
        )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ActionInputs:
        """Parse the inputs; :class:`UsageError` naming the input for any bad value."""

        def get(name: str) -> str:
            return environ.get(INPUT_ENV[name], "").strip()

        command = get("command") or "plan"
        if command not in COMMANDS:
            raise UsageError(
                f"input `command`: {command!r} is not one of {', '.join(COMMANDS)}",
                hint="set `with: command: plan` (or validate, apply, status)",
            )
        try:
            args = tuple(shlex.split(get("args")))
            paths = tuple(shlex.split(get("paths")))
        except ValueError as exc:
            raise UsageError(f"input `args` or `paths`: cannot split it ({exc})", hint="check the quotes") from None
        inputs = cls(
            command=command,
            paths=paths,
            working_directory=get("working-directory") or ".",
            args=args,
            comment=_boolean("comment", get("comment")),
            fail_on_changes=_boolean("fail-on-changes", get("fail-on-changes")),
            plan_file=get("plan-file"),
            github_token=get("github-token"),
        )
        if command == "apply" and inputs.plan_file and inputs.paths:
            raise UsageError(
                "inputs `paths` and `plan-file` are both set for apply",
                hint="apply takes either PATHS or a PLANFILE: the plan file already names what to apply",
            )
        return inputs


def _boolean(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise UsageError(f"input `{name}`: {value!r} is not true or false")


def command_args(inputs: ActionInputs, *, plan_path: str) -> list[str]:
    """The ``labelsync`` arguments for ``inputs`` (without the program name).

    ``plan_path`` is where ``plan`` saves its plan (``-o``); ``plan`` always gets
    ``--detailed-exitcode`` so that "changes present" is visible as exit code 2, and
    ``apply`` always gets ``--auto-approve`` (CI has no one to ask).
    """
    if inputs.command == "plan":
        extra = [] if "--detailed-exitcode" in inputs.args else ["--detailed-exitcode"]
        return ["plan", *inputs.paths, "-o", plan_path, *extra, *inputs.args]
    if inputs.command == "apply":
        target = [inputs.plan_file] if inputs.plan_file else list(inputs.paths)
        extra = [] if "--auto-approve" in inputs.args else ["--auto-approve"]
        return ["apply", *target, *extra, *inputs.args]
    return [inputs.command, *inputs.paths, *inputs.args]


def diagnostics_args(inputs: ActionInputs) -> list[str]:
    """``validate --format json`` for the same manifests (for annotations after a failure)."""
    return ["validate", *inputs.paths, "--format", "json"]
