"""The layers of the package, checked with import-linter's contracts in pyproject.toml."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """Run ``lint-imports`` on the package and pyproject.toml under ``root``."""
    environment = {**os.environ, "PYTHONPATH": str(root)}
    command = [str(Path(sys.executable).with_name("lint-imports")), "--config", str(root / "pyproject.toml"), "--no-cache"]
    return subprocess.run(command, cwd=root, env=environment, capture_output=True, text=True, timeout=120)


def test_imports_point_only_downward():
    run = lint_imports(REPO)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


@pytest.mark.parametrize("module, added, broken", [
    ("core/settings.py", "import tfl_jupyter.widgets.panel", "The core imports neither IPython nor the widgets"),
    ("core/engine.py", "from tfl_jupyter.core import convert", "The core in layers"),
    ("core/result.py", "from tfl_jupyter.core.sweep import sweep", "The core in layers"),
])
def test_an_upward_import_breaks_a_contract(tmp_path, module, added, broken):
    shutil.copytree(REPO / "tfl_jupyter", tmp_path / "tfl_jupyter", ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    path = tmp_path / "tfl_jupyter" / module
    path.write_text(path.read_text() + f"\n{added}\n")
    run = lint_imports(tmp_path)
    assert run.returncode != 0
    assert f"{broken}" in run.stdout and "BROKEN" in run.stdout, run.stdout
