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
import math
import os
import resource

import vsim
from benchmarks import planetlab_static
from benchmarks.common import median, planetlab_day, repeated
from vsim.scenario import validate_scenario
from vsim.scenario.catalogue import SPECPOWER_TABLES as SPECPOWER

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


HOST_TYPES = {"g4": (1860.0, SPECPOWER["hp_ml110_g4"]), "g5": (2660.0, SPECPOWER["hp_ml110_g5"])}
VM_TYPES = [(2500.0, 870.0), (2000.0, 1740.0), (1000.0, 1740.0), (500.0, 613.0)]  # MIPS, MB
HOST_MB = 4096.0


def _power(table, u: float) -> float:
    x = min(max(u, 0.0), 1.0) * 10.0
    lo = min(int(x), 9)
    return table[lo] + (table[lo + 1] - table[lo]) * (x - lo)


def cloudsim_placement(n_hosts: int, n_vms: int, policy: str) -> list[int]:
    """CloudSim's initial placement of the paper's experiment (issue 4 of this project and the
    brief of this benchmark): host ``i`` is a G4 if ``i`` is even, a G5 if odd; VM ``j`` (type
    ``j // ceil(N/4)``) is placed at creation, in index order, on nominal MIPS (a VM being
    created asks for its full MIPS), with its whole RAM, and only where its single vCPU fits one
    core (2500 MIPS VMs only on G5). NPA and DVFS (no migration policy) take the first host
    that fits; the migration policies place with power-aware best fit (Algorithm 1 of the
    paper): least power increase over the host's power at its last update, which at t = 0 is
    every host's idle power (0 % utilization, read from its table), so VMs spread over all
    800 hosts; with the capacity, core and RAM checks only. (A utilization-threshold check
    at creation is not applied: with nominal MIPS it would leave VMs of the 0.7 fallback
    unplaceable, while CloudSim creates all 1052.)"""
    block = -(-n_vms // 4)
    kind = [("g4", "g5")[i % 2] for i in range(n_hosts)]
    core = [HOST_TYPES[k][0] for k in kind]
    table = [HOST_TYPES[k][1] for k in kind]
    cap = [2.0 * c for c in core]
    used = [0.0] * n_hosts
    ram = [0.0] * n_hosts
    det = POLICIES[policy]["detector"]
    out = []
    for j in range(n_vms):
        mips, mb = VM_TYPES[j // block]
        best, best_inc = -1, math.inf
        for i in range(n_hosts):
            after = used[i] + mips
            if mips > core[i] or after > cap[i] or ram[i] + mb > HOST_MB:
                continue
            if det == "none":
                best = i
                break
            # Every host's utilization at its last update is 0 at t = 0, so the base is idle
            # power everywhere and VMs placed earlier count only on the "after" side.
            inc = _power(table[i], after / cap[i]) - table[i][0]
            if inc < best_inc:
                best, best_inc = i, inc
        if best < 0:
            raise RuntimeError(f"VM {j} fits on no host")
        used[best] += mips
        ram[best] += mb
        out.append(best)
    return out


def scenario(folder: str, policy: str, profile: str = "cloudsim", n_vms: int = 1052):
    """The static benchmark's datacenter with SPECpower tables, 4096 MB hosts (CloudSim's MB
    arithmetic: a 1740 + 1740 + 613 MB mix fits) and a ``consolidation:`` section. Under the
    ``cloudsim`` profile the hosts alternate G4, G5 (one host type each, in CloudSim's order)
    and every VM is pinned where CloudSim's initial placement puts it
    (``cloudsim_placement``)."""
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
        where = cloudsim_placement(n_hosts, n_vms, policy)
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
    base["consolidation"] = {"profile": profile, "interval": "5m", **POLICIES[policy]}
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
            cs = CLOUDSIM[policy]
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
