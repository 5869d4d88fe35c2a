"""The ``labelsync`` command line: thin click commands over the library.

Each command parses its flags, calls the library, renders the result and returns an exit
code. :func:`main` is the one error boundary: a :class:`~labelsync.errors.LabelsyncError`
prints one ``Error:`` line (plus ``Hint:``) and exits with its code (1, or 130 when
interrupted); any other exception is a bug and prints a traceback with exit 3. Everything
printed here, the traceback included, goes through :func:`labelsync.redact.redact`, and the
``labelsync`` loggers write through a redacting handler (level from ``LABELSYNC_LOG_LEVEL``,
default ``WARNING``).

Exit codes: 0 success or no changes, 1 error, 2 changes present (``plan
--detailed-exitcode``), 3 internal error, 130 interrupted.

Start-up: the group knows each command's module (:data:`COMMAND_MODULES`) and imports it
only when that command runs (``--help`` imports the command modules, which import little
themselves: each command imports what it needs when it runs).
"""

from __future__ import annotations

import logging
import os
import sys
import traceback

import click

from labelsync import __version__, phases
from labelsync.cli import output
from labelsync.errors import LabelsyncError
from labelsync.redact import install_log_filter, redact

COMMAND_MODULES: dict[str, str] = {
    "init": "init",
    "validate": "validate",
    "migrate": "migrate",
    "plan": "sync",
    "apply": "sync",
    "show": "sync",
    "stats": "stats",
    "status": "status",
    "pull": "status",
    "convert": "convert",
    "import": "adopt",
    "emulator": "emulator",
    "action-run": "action",
}
"""Command name -> its module under ``labelsync.cli`` (whose ``COMMANDS`` list holds it)."""


class LazyGroup(click.Group):
    """A group whose commands are imported from :data:`COMMAND_MODULES` on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMAND_MODULES, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            import importlib

            module = importlib.import_module(f"labelsync.cli.{COMMAND_MODULES[cmd_name]}")
            for command in module.COMMANDS:
                self.commands.setdefault(str(command.name), command)
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="labelsync")
@click.option(
    "--deadline", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
    help="Stop with an error when the command takes longer (default: LABELSYNC_DEADLINE, else none).",
)
def cli(deadline: float | None) -> None:
    """Manage labelling datasets like code: validate, plan and apply YAML manifests
    against TensorBay or Deepen.

    \b
    Quick start (no account needed, uses the embedded local emulator):
      labelsync init
      labelsync validate examples/quickstart
      labelsync plan examples/quickstart
      labelsync apply examples/quickstart --auto-approve
    """
    from labelsync.providers import limits

    limits.set_command_deadline(deadline if deadline is not None else limits.command_deadline_from_env())


def _setup_logging() -> None:
    """Send ``labelsync.*`` log records to stderr, redacted (once per process)."""
    logger = logging.getLogger("labelsync")
    if any(getattr(h, "_labelsync", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    install_log_filter(handler)
    handler._labelsync = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(os.environ.get("LABELSYNC_LOG_LEVEL", "WARNING").upper() or "WARNING")
    logger.propagate = False


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with its code; the single place errors become exit codes."""
    if phases.ENABLED:
        phases.add("start-up (interpreter, imports)", phases.process_age())
        import atexit

        atexit.register(phases.report)
    try:
        _setup_logging()
    except ValueError:  # an unknown LABELSYNC_LOG_LEVEL
        logging.getLogger("labelsync").setLevel(logging.WARNING)
    try:
        code = cli.main(args=argv, prog_name="labelsync", standalone_mode=False)
    except LabelsyncError as err:
        output.error(err)
        sys.exit(err.exit_code)
    except click.exceptions.Abort:
        output.err_line("Interrupted.")
        sys.exit(130)
    except KeyboardInterrupt:
        output.err_line("Interrupted.")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(1 if exc.exit_code == 2 else exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(1)
    except OSError as exc:  # the environment, not a bug: permissions, a missing directory, a full disk
        where = f"{exc.filename}: " if exc.filename else ""
        output.err_line(f"Error: {where}{exc.strerror or exc}")
        output.err_line("Hint: check that the path exists and is writable, and that there is free space")
        sys.exit(1)
    except Exception:  # a bug: show everything, ask for a report
        sys.stderr.write(redact(traceback.format_exc()))
        output.err_line(f"labelsync {__version__} hit an internal error (a bug). Please report it with the traceback above.")
        sys.exit(3)
    sys.exit(code if isinstance(code, int) else 0)
