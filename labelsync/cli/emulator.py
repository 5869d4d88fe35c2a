"""(placeholder) commands of labelsync.cli.emulator."""

import click

COMMANDS: list[click.Command] = []
