"""The Beloglazov & Buyya 2012 experiment as a library call and a command: CloudSim's initial
placement as scheduler policies against an independent reference, the policy table, the whole
table on a small synthetic day, and (with the real traces) the same run as the benchmark's."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import vsim
from vsim.cli import main as cli
from vsim.experiments import beloglazov as experiment
from vsim.experiments.beloglazov import cloudsim_placement, policies, scenario_data

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("VSIM_DATA", REPO.parent / "shared" / "data"))
DAY = DATA / "planetlab" / "20110303"


def _synthetic_day(folder: Path, n_vms: int, seed: int = 1) -> Path:
    """A PlanetLab-format day: one file per VM, 288 CPU percentages (5-minute samples)."""
    day = folder / "20990101"
    day.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for j in range(n_vms):
        values = np.clip(rng.normal(30 + 40 * (j % 3 == 0), 15, 288), 0, 100).astype(int)
        (day / f"vm_{j:03d}").write_text("\n".join(map(str, values)) + "\n")
    return folder


def test_the_paper_s_policy_table():
    table = policies()
    assert len(table) == 2 + 5 * 4
    assert table["THR-MU-0.8"] == {"detector": "thr", "param": 0.8, "selection": "mu"}
    assert table["THR-MC-0.8"]["selection"] == "mc"
    assert table["NPA"]["power_aware"] is False


@pytest.mark.parametrize("policy", ["DVFS", "LR-MMT-1.2"])
def test_cloudsim_placement_policies_match_the_independent_reference(tmp_path, policy):
    """The scheduler policies against CloudSim's placement written out by hand (power
    increase over idle power, core check, whole RAM), on 40 hosts and 52 VMs."""
    data = _synthetic_day(tmp_path, 52)
    sc = scenario_data(data, "20990101", policy, "cloudsim", n_hosts=40)
    sc["duration"], sc["sample_interval"] = "10m", "5m"
    res = vsim.run(vsim.scenario.validate_scenario(sc))
    placed = res.events[res.events.kind == "placed"]
    got = [int(h[1:4]) for h in placed.detail]
    # Guests are numbered by block (vm0-0, ...): index order is the order of the files.
    assert got == cloudsim_placement(40, 52, first_fit=policy == "DVFS")
    assert len(set(got)) > 10  # (PABFD and first fit spread differently; both place all)


def test_the_whole_table_runs_as_one_sweep(tmp_path):
    data = _synthetic_day(tmp_path / "data", 8)
    table = experiment.beloglazov2012(
        data, day="20990101", policy="all", n_hosts=8, out=tmp_path / "out", jobs=1
    )
    assert list(table.policy) == list(policies())
    npa, dvfs = table.set_index("policy").loc[["NPA", "DVFS"], "energy_kwh"]
    assert npa > dvfs > 0  # peak power all day against power that follows the load
    assert (table.migrations[2:] >= 0).all() and table.cloudsim_energy_kwh.isna().all()


def test_experiment_list_and_export(tmp_path, capsys):
    assert cli(["experiment", "list"]) == 0
    assert "beloglazov2012" in capsys.readouterr().out
    data = _synthetic_day(tmp_path / "data", 12)
    path = tmp_path / "exp.yaml"
    args = ["experiment", "beloglazov2012", "--data", str(data), "--day", "20990101"]
    assert cli([*args, "--policy", "THR-MU-0.8", "--export", str(path)]) == 0
    sc = vsim.load_scenario(path)
    assert (sc.consolidation.selection, sc.scheduler.policy) == ("mu", "cloudsim_pabfd")
    assert len(sc.datacenter.host_types) == 800 and sum(g.count for g in sc.guests) == 12
    assert cli(["experiment", "nosuch"]) == 1


@pytest.mark.skipif(not DAY.is_dir(), reason="PlanetLab traces not found (set VSIM_DATA)")
def test_the_library_run_is_the_benchmark_s_run():
    """The exported scenario (scheduler policy) and the benchmark's (every VM pinned where
    CloudSim puts it) give the same run, figure for figure."""
    from benchmarks.planetlab_consolidation import scenario as pinned

    a = vsim.run(pinned(str(DAY), "LR-MMT-1.2", "cloudsim"))
    b = vsim.run(vsim.load_scenario(REPO / "scenarios" / "planetlab-lr-mmt.yaml"))
    pd.testing.assert_frame_equal(a.hosts, b.hosts)
    for key in ("energy_kwh", "migrations", "slatah", "pdm", "events"):
        assert a.summary[key] == b.summary[key], key


POLICY_MODULE = '''
import numpy as np

seen = []


def all_hot(loads):
    """Every host that runs anything is overloaded: the experiment must migrate."""
    seen.append(len(loads.utilization))
    return loads.utilization > 0
'''


def test_a_policy_of_ones_own_runs_through_the_experiment_command(tmp_path, capsys, monkeypatch):
    """``vsim experiment ... --set consolidation.detector=module:function`` with the module in
    the current folder: the run asks it about the paper's 800 hosts at every consolidation
    round (every 5 minutes of the 2 hours) and migrates what it flags; the exported scenario
    names it, so ``vsim run`` repeats the run."""
    data = _synthetic_day(tmp_path / "data", 8)
    (tmp_path / "hotpolicy.py").write_text(POLICY_MODULE)
    monkeypatch.chdir(tmp_path)
    sets = ["--set", "consolidation.detector=hotpolicy:all_hot", "--set", "duration=2h"]
    args = ["experiment", "beloglazov2012", "--data", str(data), "--day", "20990101"]
    args += ["--policy", "THR-MMT-0.8", "--out", "out", "--quiet", *sets]
    assert cli(args) == 0, capsys.readouterr().err
    import hotpolicy

    rounds = hotpolicy.seen.count(800)  # (it is also asked about candidate targets)
    assert rounds >= 2 * 12 - 1  # a round every 5 minutes of the 2 hours, over every host
    summary = pd.read_csv("out/summary.csv").iloc[0]
    assert summary["migrations"] > 0
    assert cli([*args[:-4], "--export", "own.yaml", *sets]) == 0
    assert "detector: hotpolicy:all_hot" in Path("own.yaml").read_text()
    assert cli([*args[:6], "--policy", "all", "--set", "consolidation.detector=x:y"]) == 1
    assert "--policy all varies this field" in capsys.readouterr().err
    assert cli([*args[:6], "--set", "consolidation.detector=nosuch:fn"]) == 1
    assert "nosuch" in capsys.readouterr().err
