"""The layering contract (issue 10, item 7): import-linter on the real import graph.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``): manifest and plan are
pure, nothing imports the CLI, the emulators import nothing from the client side, providers
do not import the engine. :func:`test_the_package_keeps_the_layering` checks labelsync as it
is; the parametrised test copies the package, adds one forbidden import per contract and
proves that the same command then fails and names it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` over the ``labelsync`` package under ``root`` with the repository's contracts."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(REPO / "pyproject.toml")],
        cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def test_the_package_keeps_the_layering() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("labelsync/plan/model.py", "import click", "manifest and plan are pure"),
        ("labelsync/manifest/model.py", "import threading", "manifest and plan are pure"),
        # through a chain: manifest -> local.git -> subprocess
        ("labelsync/manifest/model.py", "import labelsync.local.git", "manifest and plan are pure"),
        ("labelsync/plan/differ.py", "import labelsync.providers.deepen.client", "manifest and plan are pure"),
        ("labelsync/engine/planning.py", "import labelsync.cli.output", "nothing imports labelsync.cli"),
        ("labelsync/emulator/tensorbay/app.py", "import labelsync.state", "the emulators import nothing"),
        ("labelsync/providers/registry.py", "import labelsync.engine.apply", "providers do not import the engine"),
    ],
)
def test_a_forbidden_import_breaks_the_contract(tmp_path: Path, module: str, line: str, contract: str) -> None:
    shutil.copytree(REPO / "labelsync", tmp_path / "labelsync", ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / module
    source = target.read_text()
    head, sep, rest = source.partition("from __future__ import annotations\n")
    assert sep, f"{module} has no __future__ import to insert after"
    target.write_text(head + sep + line + "  # noqa\n" + rest)
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken
    assert module.removesuffix(".py").replace("/", ".") in broken
