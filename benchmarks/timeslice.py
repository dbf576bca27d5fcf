"""Time slices at 2x vCPU overcommit: 100 hosts of 16 cores, 32 one-vCPU VMs each with
random-walk load, 1 h in 5-minute samples, 10 ms slices, the same run in fluid and in timeslice
mode side by side. Reports slices simulated per second of the extra wall time, and the fluid
run's wall time next to it (the fluid path does no slice work at all)."""

from __future__ import annotations

import argparse
import os

import vsim
from benchmarks.common import median, repeated, spread
from vsim.scenario import validate_scenario


def scenario(cpu: str, hosts: int = 100, window: float = 1.0):
    return validate_scenario(
        {
            "name": f"timeslice_{cpu}",
            "duration": "1h",
            "sample_interval": "5m",
            "datacenter": {
                "host_types": [
                    {
                        "name": "h",
                        "count": hosts,
                        "cores": 16,
                        "core_mips": 2500,
                        "memory": "256GiB",
                    }
                ]
            },
            "scheduler": {
                "overcommit": {"cpu": 2.0},
                "cpu": cpu,
                "timeslice": {"quantum": 0.01, "window": window},
            },
            "workloads": {"walk": {"kind": "random_walk", "start": 0.6, "sigma": 0.1}},
            "guests": [
                {
                    "name": "vm",
                    "kind": "vm",
                    "count": 32 * hosts,
                    "vcpus": 1,
                    "vcpu_mips": 2500,
                    "memory": "4GiB",
                    "workload": "walk",
                }
            ],
        }
    )


def main(hosts: int = 100, repeat: int = 3) -> list[dict]:
    fluid_walls, _ = repeated(lambda: vsim.run(scenario("fluid", hosts)), repeat)
    ts_walls, res = repeated(lambda: vsim.run(scenario("timeslice", hosts)), repeat)
    slices = int(res.summary["timeslice_slices"])
    extra = median(ts_walls) - median(fluid_walls)
    rate = slices / extra if extra > 0 else float("nan")
    print(
        f"timeslice: {hosts} hosts at 2x vCPU overcommit, 1 h, 10 ms slices, on "
        f"{os.cpu_count()} cores: fluid {spread(fluid_walls)}, timeslice {spread(ts_walls)}, "
        f"{slices:,} slices, {rate:,.0f} slices/s, ready time mean "
        f"{res.summary['cpu_ready_mean_frac']:.3f}"
    )
    return [
        {
            "benchmark": f"timeslice_{hosts}h_2x",
            "cores": os.cpu_count(),
            "wall_s": median(ts_walls),
            "fluid_wall_s": median(fluid_walls),
            "runs": len(ts_walls),
            "slices": slices,
            "slices_per_s": rate,
        }
    ]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Time slices at 2x vCPU overcommit.")
    ap.add_argument("--repeat", type=int, default=3, help="runs; the median is reported")
    ap.add_argument("--hosts", type=int, default=100)
    args = ap.parse_args()
    main(args.hosts, args.repeat)
