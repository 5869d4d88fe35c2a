"""(placeholder) commands of labelsync.cli.sync."""

import click

COMMANDS: list[click.Command] = []
