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
import resource

import vsim
from benchmarks import planetlab_static
from benchmarks.common import median, planetlab_day, repeated
from vsim.experiments.beloglazov import (
    CLOUDSIM_20110303,
    VM_TYPES,
    cloudsim_placement,
    policies,
)
from vsim.scenario import validate_scenario

# The policies this benchmark times (the whole table: vsim experiment beloglazov2012 --policy all).
BENCH_POLICIES = (
    "NPA",
    "DVFS",
    "THR-MMT-0.8",
    "IQR-MMT-1.5",
    "MAD-MMT-2.5",
    "LR-MMT-1.2",
    "LRR-MMT-1.2",
)
POLICIES = {name: policies()[name] for name in BENCH_POLICIES}
# Every policy of the paper (THR-MC-0.8 and the other selections too), for :func:`scenario`.
ALL_POLICIES = policies()
POWER = {"g4": "hp_ml110_g4", "g5": "hp_ml110_g5"}


def scenario(folder: str, policy: str, profile: str = "cloudsim", n_vms: int = 1052):
    """The static benchmark's datacenter with SPECpower tables, 4096 MB hosts (CloudSim's MB
    arithmetic: a 1740 + 1740 + 613 MB mix fits) and a ``consolidation:`` section. Under the
    ``cloudsim`` profile the hosts alternate G4, G5 (one host type each, in CloudSim's order)
    and every VM is pinned where CloudSim's initial placement puts it
    (``cloudsim_placement``). ``policy`` is any policy of the paper (``policies()``), not
    only the ones this benchmark times."""
    base = planetlab_static.scenario(folder, n_vms).model_dump(by_alias=True, exclude_unset=True)
    for t in base["datacenter"]["host_types"]:
        t["memory"] = "4096MB"
        t["power"] = {"model": "specpower", "table": POWER[t["name"]]}
    base["name"] = f"planetlab-20110303-{policy}-{profile}"
    if profile == "cloudsim":
        # CloudSim's PlanetLab VMs use no memory once created (null RAM utilization model).
        base["workloads"]["planetlab"]["memory"] = 0.0
        n_hosts = sum(t["count"] for t in base["datacenter"]["host_types"])
        by_kind = {t["name"]: t for t in base["datacenter"]["host_types"]}
        hosts = []
        for i in range(n_hosts):
            t = dict(by_kind[("g4", "g5")[i % 2]], name=f"h{i:03d}", count=1)
            hosts.append(t)
        base["datacenter"]["host_types"] = hosts
        where = cloudsim_placement(n_hosts, n_vms, ALL_POLICIES[policy]["detector"] == "none")
        block = -(-n_vms // 4)
        base["guests"] = [
            {
                "name": f"vm{j:04d}",
                "vcpus": 1,
                "vcpu_mips": VM_TYPES[j // block][0],
                "memory": f"{VM_TYPES[j // block][1]:g}MB",
                "workload": "planetlab",
                "boot_time": 0,
                "host": f"h{where[j]:03d}-0",
            }
            for j in range(n_vms)
        ]
    base["consolidation"] = {"profile": profile, "interval": "5m", **ALL_POLICIES[policy]}
    return validate_scenario(base)


def run_one(folder: str, policy: str, profile: str, repeat: int = 1) -> dict:
    sc = scenario(folder, policy, profile)
    walls, res = repeated(lambda: vsim.run(sc), repeat)
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
        "wall_s": median(walls),
        "wall_min_s": min(walls),
        "wall_max_s": max(walls),
        "runs": len(walls),
        # The process's peak so far (this policy's own when it runs alone: --policies).
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main(profiles=("cloudsim", "vsim"), policies=None, repeat: int = 1) -> list[dict]:
    folder = planetlab_day()
    if folder is None:
        print("planetlab_consolidation: skipped (PlanetLab traces not found; set VSIM_DATA)")
        return []
    rows = []
    head = (
        f"{'profile':8} {'policy':12} {'kWh':>8} {'kWh(cs)':>8} {'CS kWh':>7} {'migr':>6} "
        f"{'CS migr':>7} {'SLATAH':>7} {'PDM':>7} {'SLAV':>9} {'wall s':>7} {'RSS MB':>7}"
    )
    print("planetlab_consolidation: 800 hosts, 1052 VMs, day 20110303, 24 h, 5-min interval")
    print(
        "  (kWh: vsim's exact energy; kWh(cs): CloudSim's accounting; CS: CloudSim 4.0;"
        " RSS: the process's peak so far)"
    )
    print(head)
    for profile in profiles:
        for policy in policies or POLICIES:
            r = run_one(str(folder), policy, profile, repeat)
            cs = CLOUDSIM_20110303.get(policy, (None,) * 4)
            print(
                f"{profile:8} {policy:12} {r['energy_kwh']:8.1f} {r['energy_kwh_cloudsim']:8.1f} "
                f"{_fmt(cs[0], '7.1f')} {r['migrations']:6d} {_fmt(cs[1], '7d')} "
                f"{r['slatah']:7.2%} {r['pdm']:7.3%} {r['slav']:9.2e} {r['wall_s']:7.1f} "
                f"{r['peak_rss_mb']:7.0f}",
                flush=True,
            )
            if repeat > 1:
                walls = f"{r['wall_min_s']:.1f}-{r['wall_max_s']:.1f} s"
                print(f"  (wall: median of {repeat} runs; range {walls})", flush=True)
            rows.append(r)
    print("  CloudSim LR-MMT-1.2: SLATAH 5.86 %, PDM 0.08 %, 29.6 s wall")
    return rows


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", default="cloudsim,vsim")
    ap.add_argument("--policies", default=None)
    ap.add_argument("--repeat", type=int, default=1, help="runs per policy; the median is shown")
    a = ap.parse_args()
    main(a.profiles.split(","), a.policies.split(",") if a.policies else None, a.repeat)
