"""How wall time grows with the fleet: trace-driven runs of 100 to 10,000 hosts (5 VMs each,
random-walk CPU demand stepped every 5 minutes for 24 h, static best-fit placement), per-guest
samples off as a large-fleet user would run them. Prints wall time, peak memory and wall time
per host-day, and draws the curve."""

from __future__ import annotations

import os
import resource
import time

import vsim
from benchmarks.common import REPO
from vsim.scenario import validate_scenario

SIZES = (100, 300, 1000, 3000, 10000)


def scenario(hosts: int, vms_per_host: int = 5):
    return validate_scenario(
        {
            "name": f"scaling-{hosts}",
            "duration": "24h",
            "sample_interval": "5m",
            "seed": 1,
            "datacenter": {
                "host_types": [
                    {"name": "h", "count": hosts, "cores": 8, "core_mips": 2500, "memory": "64GiB"}
                ]
            },
            "scheduler": {"policy": "best_fit"},
            "workloads": {
                "walk": {"kind": "random_walk", "start": 0.4, "sigma": 0.05, "memory": 0.6}
            },
            "guests": [
                {
                    "name": "vm",
                    "count": hosts * vms_per_host,
                    "vcpus": 2,
                    "vcpu_mips": 2500,
                    "memory": "8GiB",
                    "workload": "walk",
                    "boot_time": 0,
                }
            ],
            "output": {"guests": False},
        }
    )


def main(sizes=SIZES) -> list[dict]:
    rows = []
    for hosts in sizes:
        sc = scenario(hosts)
        t0 = time.perf_counter()
        res = vsim.run(sc)
        wall = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append(
            {
                "benchmark": f"scaling_{hosts}h",
                "cores": os.cpu_count(),
                "hosts": hosts,
                "vms": hosts * 5,
                "wall_s": wall,
                "peak_rss_mb": peak_mb,
                "us_per_host_step": wall / (hosts * 288) * 1e6,
                "rejected": int(res.summary["guests_rejected"]),
            }
        )
        print(
            f"scaling: {hosts:>6} hosts, {hosts * 5:>6} VMs, 24 h: {wall:7.2f} s wall, "
            f"{rows[-1]['us_per_host_step']:.2f} us per host-step, peak RSS {peak_mb:.0f} MB",
            flush=True,
        )
    _plot(rows)
    return rows


def _plot(rows: list[dict]) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    hosts = [r["hosts"] for r in rows]
    ax.loglog(hosts, [r["wall_s"] for r in rows], "o-", label="vsim")
    base = rows[0]["wall_s"] / hosts[0]
    ax.loglog(hosts, [base * h for h in hosts], "--", color="grey", label="linear in hosts")
    ax.set_xlabel("hosts (5 VMs each), 24 h at 5-minute steps")
    ax.set_ylabel("wall time (s)")
    ax.set_title(f"Cost growth with fleet size ({os.cpu_count()} cores)")
    ax.legend()
    out = REPO / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    fig.savefig(out / "scaling.png", dpi=120)


if __name__ == "__main__":
    main()
