"""(placeholder) commands of labelsync.cli.validate."""

import click

COMMANDS: list[click.Command] = []
