"""A large fleet under dynamic consolidation: 10,000 hosts and 50,000 VMs driven by real PlanetLab
CPU traces for 24 h, THR-MMT consolidation every 5 minutes (vsim's physical profile: pre-copy
migrations over the network, memory checked on the destination, idle hosts switched off).

The traces are every PlanetLab day folder present (about 1,000 VMs each), each day's files
driving an equal share of the VMs in sorted name order, cycled where a day has fewer files
than VMs (the ``days`` option of the ``planetlab`` workload kind). Hosts have 8 cores of
2500 MIPS and 64 GiB; VMs have 2 vCPUs and 8 GiB, five per host at the start (best fit).
``--hosts`` runs a smaller fleet of the same shape.
"""

from __future__ import annotations

import argparse
import os
import resource

import vsim
from benchmarks.common import DATA, timed
from vsim.scenario import validate_scenario


def day_folders() -> list[str]:
    root = DATA / "planetlab"
    if not root.is_dir():
        return []
    return sorted(str(p) for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def scenario(hosts: int, days: list[str], vms_per_host: int = 5, detector: str = "thr"):
    n_vms = hosts * vms_per_host
    # The planetlab kind's days option gives each day an equal share of the VMs, cycling.
    workloads = {"pl": {"kind": "planetlab", "days": days, "memory": 0.6}}
    guests = [
        {
            "name": "vm",
            "count": n_vms,
            "vcpus": 2,
            "vcpu_mips": 2500,
            "memory": "8GiB",
            "workload": "pl",
            "boot_time": 0,
        }
    ]
    return validate_scenario(
        {
            "name": f"fleet-{hosts}",
            "duration": "24h",
            "sample_interval": "5m",
            "seed": 1,
            "datacenter": {
                "host_types": [
                    {
                        "name": "h",
                        "count": hosts,
                        "cores": 8,
                        "core_mips": 2500,
                        "memory": "64GiB",
                        "nic_bandwidth": "10Gbps",
                        "power": {"model": "linear", "idle_w": 150, "peak_w": 250},
                    }
                ]
            },
            "scheduler": {"policy": "best_fit"},
            "workloads": workloads,
            "guests": guests,
            "consolidation": {"detector": detector, "param": 0.8, "interval": "5m"},
            "output": {"guests": False},
        }
    )


def main(hosts: int = 10000) -> list[dict]:
    days = day_folders()
    if not days:
        print("fleet_consolidation: skipped (no PlanetLab traces under the data folder)")
        return []
    sc = scenario(hosts, days)
    wall, _, res = timed(lambda: vsim.run(sc))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    s = res.summary
    print(
        f"fleet_consolidation: {hosts:,} hosts, {hosts * 5:,} VMs ({len(days)} PlanetLab days), "
        f"24 h, THR-MMT-0.8 every 5 min, on {os.cpu_count()} cores: {wall:.1f} s wall, "
        f"{int(s['migrations']):,} migrations, {s['energy_kwh']:.0f} kWh, "
        f"{s['events']:,} events, peak RSS {peak:.0f} MB"
    )
    return [
        {
            "benchmark": f"fleet_consolidation_{hosts}h",
            "cores": os.cpu_count(),
            "wall_s": wall,
            "migrations": int(s["migrations"]),
            "energy_kwh": float(s["energy_kwh"]),
            "events": int(s["events"]),
            "peak_rss_mb": peak,
        }
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10000)
    main(parser.parse_args().hosts)
