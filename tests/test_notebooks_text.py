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


def test_a_figure_renders_once_in_a_notebook():
    """A plotting call in a cell shows one image, not two: vsim's figures are not pyplot's, so
    the inline backend does not show them again at the end of the cell."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    code = (
        "%matplotlib inline\n"
        "import vsim\n"
        "from vsim.scenario import validate_scenario\n"
        "sc = validate_scenario({'duration': '10m', 'sample_interval': '1m',\n"
        "    'datacenter': {'host_types': [{'name': 'h', 'count': 2, 'cores': 4,\n"
        "                                   'memory': '16GiB'}]},\n"
        "    'workloads': {'w': {'kind': 'constant', 'cpu': 0.5}},\n"
        "    'guests': [{'name': 'g', 'count': 2, 'memory': '1GiB', 'workload': 'w'}]})\n"
        "res = vsim.run(sc)\n"
    )
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(code), nbformat.v4.new_code_cell("res.plot.utilization()")]
    )
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = nb.cells[1].outputs
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1, [o.get("output_type") for o in outputs]
