"""The notebooks' prose does not promise features that exist already."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_notebook_defers_to_a_later_issue(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    prose = " ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert "later issue" not in " ".join(prose.split())


def test_the_notebook_extras_bring_ipywidgets_for_the_progress_bars():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for name in ("notebooks", "dev"):
        assert any(req.startswith("ipywidgets") for req in extras[name])
