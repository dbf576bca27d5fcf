"""Request-level services: simulated requests per second, next to a bare SimPy M/M/1 loop.

- bare SimPy: an M/M/1 FCFS queue on ``simpy.Resource``, one process per customer;
- vsim M/M/1-PS: one service guest alone on a one-core host at utilization 0.8;
- vsim fleet (special case): 1,000 service guests on 100 hosts of 10 cores, one core per guest,
  so guests never share a core and every CPU update takes the single-guest fast path;
- vsim shared (like for like): 100 hosts of one core, 10 services per host, Poisson arrivals at
  rho = 0.7 per host, so every arrival and departure changes the processor-sharing rates of the
  host's busy guests (a one-host solve each);
- vsim three-tier: front, middle and back tiers of one guest each, on a one-core host each, a
  request's response time from arrival at the front to the end at the back.
All loops run in this process, one after the other, so the ratios are what matter; each vsim
figure names its solves: full (every host), one-host, and single-guest fast-path updates.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import simpy

import vsim
from benchmarks.common import timed
from vsim.scenario import validate_scenario


def bare_simpy_mm1(n: int, lam: float = 0.8, mu: float = 1.0, seed: int = 1) -> int:
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=1)
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1 / lam, n).tolist()
    work = rng.exponential(1 / mu, n).tolist()
    done = [0]

    def customer(s: float):
        with server.request() as req:
            yield req
            yield env.timeout(s)
        done[0] += 1

    def source():
        for gap, s in zip(gaps, work, strict=True):
            yield env.timeout(gap)
            env.process(customer(s))

    env.process(source())
    env.run()
    return done[0]


class SolveCounts:
    """A controller that reports how the run's re-solves were done (read-only)."""

    name = "solve_counts"

    def __init__(self, engine):
        self.engine = engine

    def summary(self) -> dict:
        r = self.engine.resolve
        return {"full_solves": r.n_full, "host_solves": r.n_scalar + r.n_hosts, "guest": r.n_guest}


def _run(sc) -> tuple[float, dict]:
    wall, _, res = timed(lambda: vsim.run(sc, controllers=[SolveCounts]))
    return res.summary["requests_completed"] / wall, res.summary


def _solves(s: dict) -> str:
    return f"{s['full_solves']:,} full / {s['host_solves']:,} one-host / {s['guest']:,} fast-path"


def shared_scenario(hosts: int, per_host: int, rho: float, duration: float):
    """``per_host`` one-vCPU services on each one-core host, arrivals at ``rho`` per host."""
    sc = service_scenario(hosts, per_host, rho / per_host, duration, cores=1)
    return validate_scenario(
        sc.model_dump(mode="json", exclude_unset=True)
        | {"name": f"shared-{hosts}x{per_host}", "scheduler": _overcommit(per_host)}
    )


def _overcommit(per_host: int) -> dict:
    return {"policy": "round_robin", "overcommit": {"cpu": per_host}}


def three_tier_scenario(rate: float, duration: float):
    tiers = ("front", "middle", "back")
    workloads = {
        t: {"kind": "service", "cpu": {"dist": "exponential", "mean": 250}}
        | ({"next": tiers[k + 1]} if k + 1 < len(tiers) else {})
        | ({"arrivals": {"process": "poisson", "rate": rate}} if k == 0 else {})
        for k, t in enumerate(tiers)
    }
    guests = [
        {"name": t, "vcpus": 1, "vcpu_mips": 1000, "memory": "1GiB", "workload": t, "boot_time": 0}
        for t in tiers
    ]
    host = {"name": "h", "count": 3, "cores": 1, "core_mips": 1000, "memory": "64GiB"}
    return validate_scenario(
        {
            "name": "three-tier",
            "duration": duration,
            "sample_interval": duration,
            "datacenter": {"host_types": [host]},
            "workloads": workloads,
            "guests": guests,
            "scheduler": {"policy": "round_robin"},
        }
    )


def service_scenario(hosts: int, per_host: int, rate: float, duration: float, cores: int = 0):
    return validate_scenario(
        {
            "name": f"services-{hosts}x{per_host}",
            "duration": duration,
            "sample_interval": duration,
            "datacenter": {
                "host_types": [
                    {
                        "name": "h",
                        "count": hosts,
                        "cores": cores or per_host,
                        "core_mips": 1000,
                        "memory": "64GiB",
                    }
                ]
            },
            "workloads": {
                "svc": {
                    "kind": "service",
                    "arrivals": {"process": "poisson", "rate": rate},
                    "cpu": {"dist": "exponential", "mean": 1000},
                }
            },
            "guests": [
                {
                    "name": "s",
                    "count": hosts * per_host,
                    "vcpus": 1,
                    "vcpu_mips": 1000,
                    "memory": "1GiB",
                    "workload": "svc",
                    "boot_time": 0,
                }
            ],
            "scheduler": {"policy": "round_robin"},
        }
    )


def main(n: int = 200_000) -> list[dict]:
    wall_bare, _, served = timed(lambda: bare_simpy_mm1(n))
    bare_rate = served / wall_bare
    runs = {
        "vsim_mm1_ps": service_scenario(1, 1, 0.8, n / 0.8),
        "vsim_1000_services_100_hosts_unshared": service_scenario(100, 10, 0.8, n / 800),
        "vsim_1000_services_100_hosts_shared": shared_scenario(100, 10, 0.7, n / 70),
        "vsim_three_tier": three_tier_scenario(0.8, n / 0.8 / 4),
    }
    cores = os.cpu_count()
    print(f"requests: bare SimPy M/M/1 {bare_rate:,.0f} customers/s; {cores} cores")
    rows = [
        {"benchmark": "simpy_bare_mm1", "cores": cores, "requests_per_s": bare_rate}
        | {"wall_s": wall_bare, "cost_vs_bare_simpy": 1.0}
    ]
    for name, sc in runs.items():
        rate, summary = _run(sc)
        print(
            f"requests: {name}: {rate:,.0f} requests/s, {rate / bare_rate:.2f} of bare SimPy's "
            f"rate; {summary['requests_completed']:,} requests, {summary['events']:,} events, "
            f"solves {_solves(summary)}"
        )
        rows.append(
            {
                "benchmark": name,
                "cores": cores,
                "requests_per_s": rate,
                "requests": summary["requests_completed"],
                "events": summary["events"],
                "full_solves": summary["full_solves"],
                "host_solves": summary["host_solves"],
                "fast_path_updates": summary["guest"],
                "cost_vs_bare_simpy": bare_rate / rate,
            }
        )
    return rows


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Request-level services against bare SimPy.")
    ap.add_argument("-n", type=int, default=200_000, help="customers of the bare M/M/1 loop")
    main(ap.parse_args().n)
