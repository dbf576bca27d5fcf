"""Beloglazov & Buyya, "Optimal online deterministic algorithms and adaptive heuristics for
energy and performance efficient dynamic consolidation of virtual machines in cloud data
centers", CCPE 24(13):1397-1420, 2012, Section 6: the PlanetLab experiment.

800 hosts (HP ProLiant ML110 G4 and G5: 2 cores of 1860 / 2660 MIPS, 4096 MB, 1 Gbps, SPECpower
tables), one VM per trace file of the day, of the paper's four types (2500, 2000, 1000, 500
MIPS with 870, 1740, 1740, 613 MB) in blocks of ceil(N/4) in sorted file order, a 5-minute
consolidation interval, 24 h. Policies: NPA, DVFS, and each detector (THR 0.8, IQR 1.5, MAD 2.5,
LR 1.2, LRR 1.2, the paper's best parameters, Table III) with each VM selection (MMT, MC, RS,
MU). Under ``profile: cloudsim`` the hosts alternate G4, G5 as CloudSim creates them and the
initial placement is CloudSim's (``scheduler.policy: cloudsim_first_fit`` or
``cloudsim_pabfd``, see :mod:`vsim.policies`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from vsim.scenario import Scenario, ScenarioError, apply_overrides, validate_scenario

DETECTOR_PARAM = {"THR": 0.8, "IQR": 1.5, "MAD": 2.5, "LR": 1.2, "LRR": 1.2}
SELECTIONS = ("MMT", "MC", "RS", "MU")
HOST_TYPES = {"g4": (1860.0, "hp_ml110_g4"), "g5": (2660.0, "hp_ml110_g5")}
VM_TYPES = [(2500.0, 870.0), (2000.0, 1740.0), (1000.0, 1740.0), (500.0, 613.0)]  # MIPS, MB
N_HOSTS = 800
# CloudSim 4.0 on day 20110303 with the trace files in sorted name order, as measured for vsim's
# benchmark (benchmarks/planetlab_consolidation.py): energy kWh, migrations, SLATAH, PDM.
# IQR-MMT-1.5's and MAD-MMT-2.5's migrations, SLATAH and PDM: CloudSim 4.0 (tag cloudsim-4.0)
# built from source, its PlanetLabRunnerConsole on this day with the files sorted by name (IQR
# 189.98 kWh, 26,282 migrations, "SLA time per active host" 4.82 %, PDM 0.06 %; MAD 185.79 kWh,
# 26,556, 5.05 %, 0.07 %); the same build gives THR-MMT-0.8's recorded 192.62 kWh and 26,711
# migrations.
CLOUDSIM_20110303 = {
    "NPA": (2410.8, None, None, None),
    "DVFS": (802.8, None, None, None),
    "THR-MMT-0.8": (192.6, 26711, None, None),
    "IQR-MMT-1.5": (190.0, 26282, 0.0482, 0.0006),
    "MAD-MMT-2.5": (185.8, 26556, 0.0505, 0.0007),
    "LR-MMT-1.2": (163.5, 27859, 0.0586, 0.0008),
}


def policies() -> dict[str, dict[str, Any]]:
    """Every policy of the paper, by its name there, as ``consolidation`` fields."""
    out: dict[str, dict[str, Any]] = {
        "NPA": dict(detector="none", underload=False, switch_off_idle=False, power_aware=False),
        "DVFS": dict(detector="none", underload=False),
    }
    for det, param in DETECTOR_PARAM.items():
        for sel in SELECTIONS:
            out[f"{det}-{sel}-{param:g}"] = dict(
                detector=det.lower(), param=param, selection=sel.lower()
            )
    return out


def day_folder(data: str | os.PathLike[str] | None, day: str) -> Path:
    """The folder of PlanetLab day ``day`` under ``data`` (the PlanetLab folder or the data
    folder holding it; default ``$VSIM_DATA`` or ``../shared/data``)."""
    root = Path(data) if data is not None else Path(os.environ.get("VSIM_DATA", "../shared/data"))
    for folder in (root / day, root / "planetlab" / day):
        if folder.is_dir():
            return folder
    raise ScenarioError(
        f"no PlanetLab day {day!r} under {root} (looked for {day}/, planetlab/{day}/)"
    )


def scenario(
    data: str | os.PathLike[str] | None = None,
    day: str = "20110303",
    policy: str = "LR-MMT-1.2",
    profile: str = "cloudsim",
    n_hosts: int = N_HOSTS,
    overrides: dict[str, Any] | None = None,
) -> Scenario:
    """The experiment for one policy as a plain scenario (``vsim run`` reproduces it);
    ``n_hosts`` other than the paper's 800 gives a scaled datacenter (half G4, half G5).
    ``overrides``: dotted scenario fields set over the paper's, e.g. a policy of one's own,
    ``{"consolidation.detector": "mypolicies:my_detector"}`` (modules on ``sys.path``)."""
    return validate_scenario(scenario_data(data, day, policy, profile, n_hosts, overrides))


def scenario_data(
    data,
    day: str,
    policy: str,
    profile: str,
    n_hosts: int = N_HOSTS,
    overrides: dict[str, Any] | None = None,
) -> dict:
    """:func:`scenario` as plain data (what :func:`export` writes)."""
    paper = _paper_data(data, day, policy, profile, n_hosts)
    if not overrides:
        return paper
    return apply_overrides(paper, overrides, source=f"experiment beloglazov2012 --day {day}")


def _paper_data(data, day: str, policy: str, profile: str, n_hosts: int) -> dict:
    table = policies()
    if policy not in table:
        raise ScenarioError(f"unknown policy {policy!r}; policies: {', '.join(table)}")
    if profile not in ("cloudsim", "vsim"):
        raise ScenarioError(f"unknown profile {profile!r}; profiles: cloudsim, vsim")
    folder = day_folder(data, day)
    n_vms = sum(1 for p in folder.iterdir() if p.is_file())
    guests = paper_vms(n_vms)
    workload = {"kind": "planetlab", "path": str(folder.resolve())}
    cloudsim = profile == "cloudsim"
    if cloudsim:
        workload["memory"] = 0.0  # CloudSim's PlanetLab VMs use no RAM once created
    return {
        "name": f"planetlab-{day}-{policy}-{profile}",
        "description": "Beloglazov & Buyya 2012, Section 6 (vsim.experiments.beloglazov)",
        "duration": "24h",
        "sample_interval": "5m",
        "datacenter": {"host_types": _hosts(cloudsim, n_hosts)},
        "scheduler": {"policy": _placement(policy) if cloudsim else "first_fit"},
        "workloads": {"planetlab": workload},
        "guests": guests,
        "consolidation": {"profile": profile, "interval": "5m", **table[policy]},
    }


def paper_vms(n_vms: int) -> list[dict[str, Any]]:
    """The paper's VMs as guest groups: its four types in blocks of ceil(N/4), in order."""
    block = -(-n_vms // 4)
    return [
        {
            "name": f"vm{t}",
            "count": min(block, n_vms - t * block),
            "vcpus": 1,
            "vcpu_mips": mips,
            "memory": f"{mb:g}MB",
            "workload": "planetlab",
            "boot_time": 0,
        }
        for t, (mips, mb) in enumerate(VM_TYPES)
        if n_vms - t * block > 0
    ]


def _placement(policy: str) -> str:
    return "cloudsim_first_fit" if policy in ("NPA", "DVFS") else "cloudsim_pabfd"


def _hosts(alternate: bool, n_hosts: int) -> list[dict[str, Any]]:
    """G4 and G5 hosts: alternating one by one as CloudSim creates them, or in two types."""

    def host(kind: str, name: str, count: int) -> dict[str, Any]:
        mips, table = HOST_TYPES[kind]
        return {
            "name": name,
            "count": count,
            "cores": 2,
            "core_mips": mips,
            "memory": "4096MB",
            "nic_bandwidth": "1Gbps",
            "power": {"model": "specpower", "table": table},
        }

    if alternate:
        return [host(("g4", "g5")[i % 2], f"h{i:03d}", 1) for i in range(n_hosts)]
    return [host("g4", "g4", n_hosts - n_hosts // 2), host("g5", "g5", n_hosts // 2)]


def export(
    path: str | os.PathLike[str],
    data=None,
    day="20110303",
    policy="LR-MMT-1.2",
    profile="cloudsim",
    overrides: dict[str, Any] | None = None,
) -> Path:
    """Write the experiment for one policy as a scenario file (trace path relative to the
    file's folder, one line per host type); returns its path."""
    path = Path(path)
    sc = scenario_data(data, day, policy, profile, overrides=overrides)
    trace = Path(sc["workloads"]["planetlab"]["path"])
    sc["workloads"]["planetlab"]["path"] = os.path.relpath(trace, path.resolve().parent)
    hosts = sc["datacenter"].pop("host_types")
    body = yaml.safe_dump(sc, sort_keys=False, width=100)
    rows = "\n".join(
        f"    - {yaml.safe_dump(h, default_flow_style=True, sort_keys=False, width=1000).strip()}"
        for h in hosts
    )
    body = body.replace("datacenter: {}\n", f"datacenter:\n  host_types:\n{rows}\n")
    head = (
        f"# vsim experiment beloglazov2012 --day {day} --policy {policy} --profile {profile}"
        f" --export {path.name}\n# (the hosts alternate G4, G5 as CloudSim creates them)\n"
    )
    path.write_text(head + body)
    return path


def beloglazov2012(
    data: str | os.PathLike[str] | None = None,
    *,
    day: str = "20110303",
    policy: str = "LR-MMT-1.2",
    profile: str = "cloudsim",
    out: str | os.PathLike[str] | None = None,
    jobs: int | None = None,
    progress: bool = False,
    n_hosts: int = N_HOSTS,
    overrides: dict[str, Any] | None = None,
):
    """Run the experiment: one policy (a :class:`~vsim.experiment.results.Result` with the
    columns of ``vsim run``, CloudSim's energy accounting and SLATAH, PDM, SLAV, ESV), or
    ``policy="all"``: the paper's whole table as a sweep (a DataFrame, one row per policy,
    with CloudSim 4.0's figures beside vsim's where they are known). ``overrides`` as in
    :func:`scenario`; under ``"all"`` it may not set a field the table varies."""
    from vsim.experiment.run import run
    from vsim.experiment.sweep import sweep

    if policy != "all":
        sc = scenario(data, day, policy, profile, n_hosts, overrides)
        return run(sc, out=out, progress=progress)
    names = list(policies())
    base = scenario_data(data, day, "LR-MMT-1.2", profile, n_hosts, overrides)
    grid = _policy_grid(names, profile)
    varied = sorted(set(overrides or ()) & set(grid))
    if varied:
        raise ScenarioError(f"--set {varied[0]}: --policy all varies this field; name a policy")
    res = sweep(base, grid, zip=True, jobs=jobs, out=out, progress=progress)
    return policy_table(res.runs, names, day)


def _policy_grid(names: list[str], profile: str) -> dict[str, list[Any]]:
    table = policies()
    fields = ("detector", "param", "selection", "underload", "switch_off_idle", "power_aware")
    defaults = {
        "param": None,
        "selection": "mmt",
        "underload": True,
        "switch_off_idle": True,
        "power_aware": True,
    }
    grid = {f"consolidation.{f}": [table[n].get(f, defaults.get(f)) for n in names] for f in fields}
    if profile == "cloudsim":
        grid["scheduler.policy"] = [_placement(n) for n in names]
    return grid


def policy_table(runs: pd.DataFrame, names: list[str], day: str) -> pd.DataFrame:
    """One row per policy: vsim's figures and, for day 20110303, CloudSim 4.0's."""
    cols = ["energy_kwh", "energy_kwh_cloudsim", "migrations", "slatah", "pdm", "slav", "esv"]
    out = runs[cols].copy()
    out.insert(0, "policy", names[: len(out)])
    ref = CLOUDSIM_20110303 if day == "20110303" else {}
    for k, col in enumerate(
        ("cloudsim_energy_kwh", "cloudsim_migrations", "cloudsim_slatah", "cloudsim_pdm")
    ):
        out[col] = [ref.get(n, (None,) * 4)[k] for n in out.policy]
    return out.reset_index(drop=True)


def cloudsim_placement(n_hosts: int, n_vms: int, first_fit: bool) -> list[int]:
    """CloudSim 4.0's initial placement of this experiment, written out independently of the
    scheduler policies (a reference for them): host ``i`` a G4 if even, a G5 if odd; VM ``j``
    (type ``j // ceil(N/4)``) placed in index order on nominal MIPS and whole RAM, only where
    its vCPU fits one core; the first such host (``first_fit``) or the least power increase
    over idle power (every host's power at t = 0), the lowest index among equals."""
    from vsim.scenario.catalogue import SPECPOWER_TABLES

    block = -(-n_vms // 4)
    kind = [("g4", "g5")[i % 2] for i in range(n_hosts)]
    core = [HOST_TYPES[k][0] for k in kind]
    table = [SPECPOWER_TABLES[HOST_TYPES[k][1]] for k in kind]
    used, ram, out = [0.0] * n_hosts, [0.0] * n_hosts, []
    for j in range(n_vms):
        mips, mb = VM_TYPES[j // block]
        best, best_inc = -1, math.inf
        for i in range(n_hosts):
            after = used[i] + mips
            if mips > core[i] or after > 2.0 * core[i] or ram[i] + mb > 4096.0:
                continue
            if first_fit:
                best = i
                break
            inc = _watts(table[i], after / (2.0 * core[i])) - table[i][0]
            if inc < best_inc:
                best, best_inc = i, inc
        if best < 0:
            raise RuntimeError(f"VM {j} fits on no host")
        used[best] += mips
        ram[best] += mb
        out.append(best)
    return out


def _watts(table, u: float) -> float:
    x = min(max(u, 0.0), 1.0) * 10.0
    lo = min(int(x), 9)
    return table[lo] + (table[lo + 1] - table[lo]) * (x - lo)
