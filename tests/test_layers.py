"""The layering of docs/design/ARCHITECTURE.md holds: import-linter's contract in pyproject.toml
(``[tool.importlinter]``) is kept, so a plain pytest run enforces it as ``./run tests`` does.

The second test shows the contract can fail: the same check on a copy of the package in which
the heap imports a kernel (an edge the architecture forbids) reports it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECK = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint_imports(source: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with the project's configuration on the package found under ``source``."""
    env = dict(os.environ, PYTHONPATH=str(source))
    return subprocess.run([sys.executable, "-c", CHECK, str(ROOT / "pyproject.toml"),
                           "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_the_layers_contract_is_kept() -> None:
    result = lint_imports(ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_a_heap_module_importing_a_kernel_breaks_it(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "src" / "gclab", tmp_path / "gclab",
                    ignore=shutil.ignore_patterns("__pycache__"))
    flags = tmp_path / "gclab" / "heap" / "flags.py"
    flags.write_text(flags.read_text() + "\nfrom ..kernels import cycles  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "gclab.heap is not allowed to import gclab.kernels" in result.stdout
    assert "gclab.heap.flags -> gclab.kernels.cycles" in result.stdout
