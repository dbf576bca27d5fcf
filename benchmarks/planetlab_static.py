"""PlanetLab day 20110303 (1052 VMs) trace-driven on 800 hosts for 24 h, static placement.

The datacenter of CloudSim's power examples (Beloglazov & Buyya 2012): 400 HP ProLiant ML110 G4
(2 cores x 1860 MIPS, 4 GB) and 400 ML110 G5 (2 x 2660 MIPS, 4 GB) hosts, 1 Gbps; VMs of four
types (2500, 2000, 1000, 500 MIPS with 870, 1740, 1740, 613 MB) assigned in four consecutive
blocks. Placement is static (first fit, no consolidation); the trace steps every 5 minutes.
"""

from __future__ import annotations

import os

import vsim
from benchmarks.common import planetlab_day, timed
from vsim.experiments.beloglazov import paper_vms
from vsim.scenario import validate_scenario


def scenario(folder: str, n_vms: int = 1052):
    guests = paper_vms(n_vms)
    hosts = [
        {
            "name": "g4",
            "count": 400,
            "cores": 2,
            "core_mips": 1860,
            "memory": "4GB",
            "nic_bandwidth": "1Gbps",
        },
        {
            "name": "g5",
            "count": 400,
            "cores": 2,
            "core_mips": 2660,
            "memory": "4GB",
            "nic_bandwidth": "1Gbps",
        },
    ]
    return validate_scenario(
        {
            "name": "planetlab-20110303-static",
            "duration": "24h",
            "sample_interval": "5m",
            "datacenter": {"host_types": hosts},
            "scheduler": {"policy": "first_fit"},
            "workloads": {"planetlab": {"kind": "planetlab", "path": folder}},
            "guests": guests,
        }
    )


def main() -> list[dict]:
    folder = planetlab_day()
    if folder is None:
        print("planetlab_static: skipped (PlanetLab traces not found; set VSIM_DATA)")
        return []
    sc = scenario(str(folder))
    vsim.run(sc)  # warm-up: imports, trace file cache
    walls = []
    for _ in range(3):
        wall, peak, res = timed(lambda: vsim.run(sc), memory=False)
        walls.append(wall)
    wall = sorted(walls)[1]
    _, peak, _ = timed(lambda: vsim.run(sc), memory=True)
    s = res.summary
    row = {
        "benchmark": "planetlab_static_800h_1052vm_24h",
        "cores": os.cpu_count(),
        "wall_s_median3": wall,
        "peak_traced_mb": peak,
        "events": int(s["events"]),
        "events_per_s": s["events"] / wall,
        "host_samples_per_s": s["hosts"] * 288 / wall,
        "cpu_util_mean": s["cpu_util_mean"],
        "unmet_cpu_frac": s["unmet_cpu_frac"],
        "guests_rejected": int(s["guests_rejected"]),
    }
    print(
        f"planetlab_static: 800 hosts, 1052 VMs, 24 h on {row['cores']} cores: "
        f"{wall:.3f} s wall (median of 3), {row['events']} events, "
        f"{row['events_per_s']:.0f} events/s, peak traced memory {peak:.0f} MB; "
        f"cpu_util_mean {row['cpu_util_mean']:.4f}, unmet_cpu_frac {row['unmet_cpu_frac']:.4f}, "
        f"rejected {row['guests_rejected']}"
    )
    return [row]


if __name__ == "__main__":
    main()
