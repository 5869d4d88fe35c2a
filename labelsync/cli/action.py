"""``labelsync action-run``: the GitHub Action's entry point (hidden; ``action.yml`` calls it).

All the work is in :mod:`labelsync.github.run`; this command only exists so the action
runs through the CLI's error boundary (one ``Error:`` line for a bad input, exit 3 and a
traceback for a bug).
"""

from __future__ import annotations

import click


@click.command("action-run", hidden=True)
def action_run() -> int:
    """Run the GitHub Action configured by INPUT_* and GITHUB_* environment variables."""
    from labelsync.github.run import main as run_action_main  # only the action needs it

    return run_action_main()


COMMANDS: list[click.Command] = [action_run]
