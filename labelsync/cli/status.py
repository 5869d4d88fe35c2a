"""(placeholder) commands of labelsync.cli.status."""

import click

COMMANDS: list[click.Command] = []
