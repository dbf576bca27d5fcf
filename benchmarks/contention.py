"""Fluid contention: 1,000 hosts, 10 actors per host, each running 10 CPU executions one after
another under fair sharing (100,000 executions) — the SimGrid benchmark's shape.

Each actor is a container with a batch workload repeated 10 times; hosts have 10 cores so the
ten actors of a host share it. Actors get different amounts of work so completions are spread
in time (every completion changes the other actors' rates on its host).
"""

from __future__ import annotations

import argparse
import os
import resource

import vsim
from benchmarks.common import median, repeated, spread
from vsim.scenario import validate_scenario


def scenario(hosts: int = 1000, actors: int = 10, executions: int = 10):
    # Work per execution 1000..1900 MI by actor; the cores are 1000 MIPS.
    workloads = {
        f"a{k}": {
            "kind": "batch",
            "cpu_work": 1000 + 100 * k,
            "repeat": executions,
            "on_finish": "idle",
        }
        for k in range(actors)
    }
    guests = [
        {
            "name": f"actor{k}",
            "kind": "container",
            "count": hosts,
            "vcpus": 1,
            "memory": "64MiB",
            "workload": f"a{k}",
            "boot_time": 0,
        }
        for k in range(actors)
    ]
    return validate_scenario(
        {
            "name": "contention",
            "duration": 10 * executions * 2,
            "sample_interval": 10 * executions * 2,
            "datacenter": {
                "host_types": [
                    {
                        "name": "h",
                        "count": hosts,
                        "cores": actors // 2,
                        "core_mips": 1000,
                        "memory": "64GiB",
                    }
                ]
            },
            "scheduler": {"policy": "round_robin", "overcommit": {"cpu": 2}},
            "workloads": workloads,
            "guests": guests,
        }
    )


def main(hosts: int = 1000, repeat: int = 3) -> list[dict]:
    sc = scenario(hosts)
    walls, res = repeated(lambda: vsim.run(sc), repeat)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # tracing would slow it
    done = int((res.events.kind == "job_done").sum())
    print(
        f"contention: {hosts} hosts x 10 actors x 10 executions on {os.cpu_count()} cores: "
        f"{spread(walls)} wall, {done * 10:,} executions, {res.summary['events']:,} events, "
        f"peak RSS {peak:.0f} MB"
    )
    return [
        {
            "benchmark": f"contention_{hosts}h_10x10",
            "cores": os.cpu_count(),
            "wall_s": median(walls),
            "wall_min_s": min(walls),
            "wall_max_s": max(walls),
            "runs": len(walls),
            "executions": done * 10,
            "peak_rss_mb": peak,
        }
    ]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Fluid contention, the SimGrid benchmark's shape.")
    ap.add_argument("--repeat", type=int, default=3, help="runs; the median is reported")
    main(repeat=ap.parse_args().repeat)
