"""Dynamic consolidation on PlanetLab day 20110303: the experiment of Beloglazov & Buyya (CCPE
24(13), 2012, Section 6) next to CloudSim 4.0's figures for the same day.

800 hosts (HP ProLiant ML110 G4 and G5, SPECpower tables, 1 Gbps), 1052 VMs of the paper's four
types assigned in blocks of ceil(N/4) in sorted trace-file order, 5-minute interval, 24 h.
Policies: NPA, DVFS, THR-MMT-0.8, IQR-MMT-1.5, MAD-MMT-2.5, LR-MMT-1.2, LRR-MMT-1.2, under the
``cloudsim`` profile (like-for-like with CloudSim) and vsim's own profile.

``python -m benchmarks.planetlab_consolidation [--profile] [--policies LR-MMT-1.2,...]``
"""

from __future__ import annotations

import argparse
import os
import time

import vsim
from benchmarks import planetlab_static
from benchmarks.common import planetlab_day
from vsim.scenario import validate_scenario

# CloudSim 4.0 on this project's machine, day 20110303, trace files in sorted name order (issue
# 4 of this project): energy kWh, migrations, SLATAH, PDM, wall seconds (None: not given).
CLOUDSIM = {
    "NPA": (2410.8, None, None, None, None),
    "DVFS": (802.8, None, None, None, None),
    "THR-MMT-0.8": (192.6, 26711, None, None, None),
    "IQR-MMT-1.5": (190.0, None, None, None, None),
    "MAD-MMT-2.5": (185.8, None, None, None, None),
    "LR-MMT-1.2": (163.5, 27859, 0.0586, 0.0008, 29.6),
    "LRR-MMT-1.2": (None, None, None, None, None),
}
POLICIES = {
    "NPA": dict(detector="none", underload=False, switch_off_idle=False, power_aware=False),
    "DVFS": dict(detector="none", underload=False),
    "THR-MMT-0.8": dict(detector="thr", param=0.8),
    "IQR-MMT-1.5": dict(detector="iqr", param=1.5),
    "MAD-MMT-2.5": dict(detector="mad", param=2.5),
    "LR-MMT-1.2": dict(detector="lr", param=1.2),
    "LRR-MMT-1.2": dict(detector="lrr", param=1.2),
}
POWER = {"g4": "hp_ml110_g4", "g5": "hp_ml110_g5"}


def scenario(folder: str, policy: str, profile: str = "cloudsim", n_vms: int = 1052):
    """The static benchmark's datacenter with SPECpower tables, 4096 MB hosts (CloudSim's MB
    arithmetic: a 1740 + 1740 + 613 MB mix fits) and a ``consolidation:`` section."""
    base = planetlab_static.scenario(folder, n_vms).model_dump(by_alias=True, exclude_unset=True)
    for t in base["datacenter"]["host_types"]:
        t["memory"] = "4096MB"
        t["power"] = {"model": "specpower", "table": POWER[t["name"]]}
    base["name"] = f"planetlab-20110303-{policy}-{profile}"
    if profile == "cloudsim":
        # CloudSim's PlanetLab VMs use no memory once created (null RAM utilization model).
        base["workloads"]["planetlab"]["memory"] = 0.0
    base["consolidation"] = {"profile": profile, "interval": "5m", **POLICIES[policy]}
    return validate_scenario(base)


def run_one(folder: str, policy: str, profile: str) -> dict:
    sc = scenario(folder, policy, profile)
    t0 = time.perf_counter()
    res = vsim.run(sc)
    wall = time.perf_counter() - t0
    s = res.summary
    return {
        "benchmark": f"planetlab_consolidation_{profile}_{policy}",
        "policy": policy,
        "profile": profile,
        "cores": os.cpu_count(),
        "energy_kwh": float(s["energy_kwh"]),
        "energy_kwh_cloudsim": float(s["energy_kwh_cloudsim"]),
        "migrations": int(s["migrations"]),
        "slatah": float(s["slatah"]),
        "pdm": float(s["pdm"]),
        "slav": float(s["slav"]),
        "esv": float(s["esv"]),
        "unmet_cpu_frac": float(s["unmet_cpu_frac"]),
        "events": int(s["events"]),
        "wall_s": wall,
    }


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main(profiles=("cloudsim", "vsim"), policies=None) -> list[dict]:
    folder = planetlab_day()
    if folder is None:
        print("planetlab_consolidation: skipped (PlanetLab traces not found; set VSIM_DATA)")
        return []
    rows = []
    head = (
        f"{'profile':8} {'policy':12} {'kWh':>8} {'kWh(cs)':>8} {'CS kWh':>7} {'migr':>6} "
        f"{'CS migr':>7} {'SLATAH':>7} {'PDM':>7} {'SLAV':>9} {'wall s':>7}"
    )
    print("planetlab_consolidation: 800 hosts, 1052 VMs, day 20110303, 24 h, 5-min interval")
    print("  (kWh: vsim's exact energy; kWh(cs): CloudSim's accounting; CS: CloudSim 4.0)")
    print(head)
    for profile in profiles:
        for policy in policies or POLICIES:
            r = run_one(str(folder), policy, profile)
            cs = CLOUDSIM[policy]
            print(
                f"{profile:8} {policy:12} {r['energy_kwh']:8.1f} {r['energy_kwh_cloudsim']:8.1f} "
                f"{_fmt(cs[0], '7.1f')} {r['migrations']:6d} {_fmt(cs[1], '7d')} "
                f"{r['slatah']:7.2%} {r['pdm']:7.3%} {r['slav']:9.2e} {r['wall_s']:7.1f}",
                flush=True,
            )
            rows.append(r)
    print("  CloudSim LR-MMT-1.2: SLATAH 5.86 %, PDM 0.08 %, 29.6 s wall")
    return rows


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", default="cloudsim,vsim")
    ap.add_argument("--policies", default=None)
    a = ap.parse_args()
    main(a.profiles.split(","), a.policies.split(",") if a.policies else None)
