"""A stand-in for the ``labelsync`` CLI, driven by a scenario file (for synthetic plans).

Usage: ``python fake_cli.py SCENARIO.json <labelsync args...>``. The scenario maps a command
name to ``{"exit": int, "stdout": str, "stderr": str, "plan": path-or-null}``; ``stdout``
and ``stderr`` may contain ``{env:NAME}``, replaced by that variable's value (to prove the
action scrubs what the CLI prints). For ``plan``, the file named by ``plan`` is copied to
the ``-o`` argument. Every invocation's arguments are appended to ``SCENARIO.calls``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys


def expand(text: str) -> str:
    return re.sub(r"\{env:([A-Z0-9_]+)\}", lambda m: os.environ.get(m.group(1), ""), text)


def main() -> int:
    scenario_path, args = sys.argv[1], sys.argv[2:]
    with open(scenario_path + ".calls", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"args": args, "cwd": os.getcwd()}) + "\n")
    scenario = json.load(open(scenario_path, encoding="utf-8"))
    step = scenario.get(args[0] if args else "", {"exit": 1, "stderr": "Error: No such command."})
    if step.get("plan") and "-o" in args:
        shutil.copyfile(step["plan"], args[args.index("-o") + 1])
    sys.stdout.write(expand(step.get("stdout", "")))
    sys.stderr.write(expand(step.get("stderr", "")))
    return int(step.get("exit", 0))


if __name__ == "__main__":
    sys.exit(main())
