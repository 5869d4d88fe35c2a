"""Start-up: a command imports only what it needs (``--help`` no manifest, HTTP or engine stack).

Each check runs a fresh interpreter (``sys.modules`` of this test process holds everything).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import click

from labelsync.cli import COMMAND_MODULES, cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEAVY = ("pydantic", "httpx", "jsonschema", "ruamel.yaml", "labelsync.manifest.model", "labelsync.engine.apply",
         "labelsync.providers.registry", "labelsync.local.scan")


def _modules_after(args: list[str]) -> set[str]:
    """The modules loaded once ``labelsync ARGS`` ran, in a fresh interpreter."""
    code = (
        "import json, sys\nfrom labelsync.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    return set(json.loads(done.stderr.rsplit("MODULES ", 1)[1]))


def test_help_imports_no_manifest_http_or_engine_module() -> None:
    loaded = _modules_after(["--help"])
    assert "labelsync.cli.sync" in loaded  # the command modules are read, for their help lines
    assert not [m for m in HEAVY if m in loaded]


def test_validate_imports_no_http_engine_plan_or_format_writer() -> None:
    loaded = _modules_after(["validate", str(EXAMPLES / "quickstart")])
    assert "labelsync.manifest.model" in loaded
    unneeded = ("httpx", "labelsync.engine.apply", "labelsync.engine.connect", "labelsync.plan.render_text",
                "labelsync.cli.convert", "labelsync.cli.adopt", "labelsync.local.labelwrite", "labelsync.emulator.runtime")
    assert not [m for m in unneeded if m in loaded]


def test_every_command_module_is_listed_under_its_commands() -> None:
    modules = set(COMMAND_MODULES.values())
    for name in modules:
        module = importlib.import_module(f"labelsync.cli.{name}")
        assert {c.name for c in module.COMMANDS} == {c for c, m in COMMAND_MODULES.items() if m == name}
    ctx = click.Context(cli)
    assert all(cli.get_command(ctx, c) is not None for c in cli.list_commands(ctx))


def test_init_state_pattern_is_the_state_dir() -> None:
    from labelsync.cli.init import STATE_PATTERN
    from labelsync.manifest.validate import STATE_DIR

    assert STATE_PATTERN == f"{STATE_DIR}/"
