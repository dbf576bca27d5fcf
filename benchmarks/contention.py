"""Fluid contention: 1,000 hosts, 10 actors per host, each running 10 CPU executions one after
another under fair sharing (100,000 executions) — the SimGrid benchmark's shape.

Each actor is a container with a batch workload repeated 10 times; hosts have 5 cores for the
ten actors (overcommit 2), so the actors of a host share it. Actors get different amounts of
work so completions are spread in time. Two variants, measured side by side:

- ``merged`` (the special case): an actor's ten executions ask for the same CPU at the same
  weight, so the engine runs them as one phase: one phase end per actor, not per execution;
- ``real`` (like for like with SimGrid's ``execute(flops, priority)``): each execution has its
  own CPU shares (``execution_shares``, drawn once from a seeded generator), so no two
  consecutive executions can be merged and every execution's end is an event that changes the
  rates of the other actors on its host.
"""

from __future__ import annotations

import argparse
import os
import resource

import numpy as np

import vsim
from benchmarks.common import median, repeated, spread
from vsim.scenario import validate_scenario

SHARES_SEED = 22  # the benchmark's own generator for the per-execution weights


def execution_shares(actors: int, executions: int) -> list[list[float]]:
    """Each actor's CPU shares for each execution: 256..4096, consecutive ones distinct."""
    rng = np.random.default_rng(SHARES_SEED)
    out = []
    for _ in range(actors):
        w = np.round(rng.uniform(256, 4096, executions))
        w[1:][w[1:] == w[:-1]] += 1  # (never equal to the previous one)
        out.append(w.tolist())
    return out


def scenario(hosts: int = 1000, actors: int = 10, executions: int = 10, real: bool = False):
    # Work per execution 1000..1900 MI by actor; the cores are 1000 MIPS.
    shares = execution_shares(actors, executions)
    workloads = {
        f"a{k}": {
            "kind": "batch",
            "cpu_work": 1000 + 100 * k,
            "repeat": executions,
            "on_finish": "idle",
        }
        | ({"execution_shares": shares[k]} if real else {})
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
            "name": "contention-real" if real else "contention",
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


def _variant(hosts: int, repeat: int, real: bool) -> dict:
    walls, res = repeated(lambda: vsim.run(scenario(hosts, real=real)), repeat)
    return {
        "benchmark": f"contention_{'real' if real else 'merged'}_{hosts}h_10x10",
        "cores": os.cpu_count(),
        "wall_s": median(walls),
        "wall_min_s": min(walls),
        "wall_max_s": max(walls),
        "runs": len(walls),
        "executions": int(res.summary["job_executions"]),
        "events": int(res.summary["events"]),
        "spread": spread(walls),
    }


def main(hosts: int = 1000, repeat: int = 3) -> list[dict]:
    """Both variants, alternating run by run (the machine's speed drifts within minutes)."""
    rows: dict[bool, list[dict]] = {False: [], True: []}
    for _ in range(max(repeat, 1)):
        for real in (False, True):
            rows[real].append(_variant(hosts, 1, real))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # tracing would slow it
    out = []
    for real, runs in rows.items():
        walls = [r["wall_s"] for r in runs]
        row = runs[-1] | {
            "wall_s": median(walls),
            "wall_min_s": min(walls),
            "wall_max_s": max(walls),
            "runs": len(walls),
            "peak_rss_mb": peak,
        }
        row.pop("spread")
        print(
            f"contention ({'real: every execution its own weight' if real else 'merged'}): "
            f"{hosts} hosts x 10 actors x 10 executions on {os.cpu_count()} cores: "
            f"{spread(walls)} wall, {row['executions']:,} executions, {row['events']:,} events"
        )
        out.append(row)
    ratio = out[1]["wall_s"] / out[0]["wall_s"]
    print(f"contention: real / merged wall = {ratio:.2f}x (same run); peak RSS {peak:.0f} MB")
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Fluid contention, the SimGrid benchmark's shape.")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each variant; medians")
    ap.add_argument("--hosts", type=int, default=1000)
    args = ap.parse_args()
    main(args.hosts, repeat=args.repeat)
