"""Package-level promises: cheap import, entry points, the floors between core and GUI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "lightgbm", "ccxt", "PySide6", "pyqtgraph", "statsmodels")
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "module", ["cryptodesk", "cryptodesk.cli", "cryptodesk.data.store", "cryptodesk.data.csv_import",
               "cryptodesk.app.study.live"]  # what a Study panel imports in the GUI process
)
def test_import_does_not_load_heavy_libraries(module: str) -> None:
    code = (
        f"import sys, {module}; "
        f"loaded = [m for m in {HEAVY!r} if m in sys.modules]; "
        "print(','.join(loaded))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing {module} loaded {out.stdout.strip()}"


def test_version_via_module_and_script(tmp_path: Path) -> None:
    from cryptodesk import __version__

    out = subprocess.run(
        [sys.executable, "-m", "cryptodesk", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"cryptodesk {__version__}"
    script = Path(sys.executable).with_name("cryptodesk")
    if script.exists():
        out = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
        assert __version__ in out.stdout


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    # --no-cache: a cache left by an earlier layout must not hide a break a clean clone shows.
    out = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr


def test_resources_module_is_a_leaf() -> None:
    """``resources/`` is mapped into the package by setup.py, outside the folder import-linter
    scans, so the layer contract cannot see it: check here that it imports only the stdlib."""
    import ast

    tree = ast.parse((REPO / "resources" / "__init__.py").read_text(encoding="utf-8"))
    imported = [
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    ]
    assert all(name.split(".")[0] in sys.stdlib_module_names | {"__future__"} for name in imported), imported


def test_no_qt_import_in_core_sources() -> None:
    offenders = []
    for path in (REPO / "cryptodesk").rglob("*.py"):
        if "gui" in path.relative_to(REPO / "cryptodesk").parts:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(("import PySide6", "from PySide6", "import pyqtgraph", "from pyqtgraph")):
                offenders.append(f"{path}: {stripped}")
    assert not offenders, offenders
