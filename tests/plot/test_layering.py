"""The figure modules share helpers through ``vsim.plot.base`` only: none imports another's
private names, and only ``vsim.plot.result`` imports the other figure modules."""

from __future__ import annotations

import ast
from pathlib import Path

import vsim.plot

PLOT_DIR = Path(vsim.plot.__file__).parent
FIGURE_MODULES = ("figures", "sweep", "timeline", "verify")


def imports_of(module: str) -> list[tuple[str, str]]:
    """(module, name) for every ``from vsim... import name`` anywhere in ``module``."""
    tree = ast.parse((PLOT_DIR / f"{module}.py").read_text(encoding="utf-8"))
    return [
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("vsim")
        for alias in node.names
    ]


def test_no_plot_module_imports_private_names_of_another():
    for path in PLOT_DIR.glob("*.py"):
        private = [(m, n) for m, n in imports_of(path.stem) if n.startswith("_")]
        assert private == [], f"{path.name} imports {private}"


def test_figure_modules_import_only_the_base_of_the_plot_package():
    for module in FIGURE_MODULES:
        plot_imports = {m for m, _ in imports_of(module) if m.startswith("vsim.plot")}
        assert plot_imports <= {"vsim.plot.base"}, f"{module} imports {plot_imports}"
