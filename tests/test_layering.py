"""The architecture's import rules that import-linter cannot state (it sees external packages only
as a whole): Ray Tune is imported in ``caviar/tune`` alone, Ray's private modules (``ray._private``,
``ray._raylet``) only in the two compat modules. The layer order itself is import-linter's
contract in pyproject.toml, run here too so that ``pytest`` alone checks the whole architecture."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "caviar"
COMPAT = {PACKAGE / "tune" / "compat.py", PACKAGE / "cluster" / "compat.py"}


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _modules_importing(prefixes: tuple[str, ...]) -> set[Path]:
    return {
        path
        for path in PACKAGE.rglob("*.py")
        if any(name == p or name.startswith(p + ".") for name in _imported(path) for p in prefixes)
    }


def test_only_caviar_tune_imports_ray_tune() -> None:
    outside = {p for p in _modules_importing(("ray.tune",)) if (PACKAGE / "tune") not in p.parents}
    assert not outside, sorted(str(p.relative_to(PACKAGE)) for p in outside)


def test_ray_private_names_live_in_the_compat_modules_only() -> None:
    found = _modules_importing(("ray._private", "ray._raylet")) - COMPAT
    assert not found, sorted(str(p.relative_to(PACKAGE)) for p in found)


def test_the_scanner_sees_imports() -> None:
    """The two rules above would pass vacuously if the scan found nothing."""
    assert PACKAGE / "tune" / "run.py" in _modules_importing(("ray.tune",))
    assert PACKAGE / "cluster" / "compat.py" in _modules_importing(("ray._private", "ray._raylet"))


def test_import_linter_contracts_hold() -> None:
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert command, "import-linter is a test dependency"
    done = subprocess.run(
        [command], cwd=PACKAGE.parent, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-4000:]
