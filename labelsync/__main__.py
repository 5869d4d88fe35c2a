"""`python -m labelsync` runs the command line."""

from labelsync.cli import main

main()
