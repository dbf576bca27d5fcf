"""What a run loads: a run without figures or sweep statistics does not import SciPy or
matplotlib (about 60 MiB of a PlanetLab run's peak memory), and its sample tables hold the
recorder's arrays rather than a copy of them."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.helpers import host, scenario, vm

ROOT = Path(__file__).resolve().parents[1]

CODE = """
import sys
import vsim
from tests.helpers import host, scenario, vm
sc = scenario([host(count=2)], [vm("a", "w", count=3)],
              {"w": {"kind": "random_walk", "start": 0.5, "sigma": 0.1}},
              duration=3600, sample_interval=600)
res = vsim.run(sc)
assert len(res.guests) == 3 * 6, len(res.guests)
print(" ".join(sorted({m.split(".")[0] for m in sys.modules} & {"scipy", "matplotlib"})))
"""


def test_a_run_without_figures_loads_neither_scipy_nor_matplotlib():
    out = subprocess.run(
        [sys.executable, "-c", CODE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_sample_tables_are_the_recorders_arrays():
    from vsim.model.build import build_simulation

    workloads = {"w": {"kind": "random_walk", "start": 0.5, "sigma": 0.1}}
    sc = scenario([host(count=2)], [vm("a", "w", count=3)], workloads, duration=3600)
    sim = build_simulation(sc, ())
    sim.run()
    collect = importlib.import_module("vsim.experiment.run").collect
    res = collect(sim, wall_time_s=0.0)
    rec = sim.recorder
    assert np.shares_memory(res.hosts["cpu_util"].to_numpy(), rec.host["cpu_util"])
    assert np.shares_memory(res.guests["cpu_alloc_mips"].to_numpy(), rec.guest["cpu_alloc_mips"])
    assert (res.hosts["cpu_util"].to_numpy() == rec.host["cpu_util"].ravel()).all()
