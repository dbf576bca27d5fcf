"""Request-level services: simulated requests per second, next to a bare SimPy M/M/1 loop.

- bare SimPy: an M/M/1 FCFS queue on ``simpy.Resource``, one process per customer;
- vsim M/M/1-PS: one service guest alone on a one-core host at utilization 0.8;
- vsim fleet: 1,000 service guests on 100 hosts (10 per host, utilization 0.8 per host).
Both loops run in this process, one after the other, so the ratio is what matters.
"""

from __future__ import annotations

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


def service_scenario(hosts: int, per_host: int, rate: float, duration: float):
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
                        "cores": per_host,
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
    rows = []
    wall_bare, _, served = timed(lambda: bare_simpy_mm1(n))
    bare_rate = served / wall_bare
    sc = service_scenario(1, 1, 0.8, n / 0.8)
    wall_ps, _, res = timed(lambda: vsim.run(sc))
    ps_rate = res.summary["requests_completed"] / wall_ps
    fleet = service_scenario(100, 10, 0.8, n / 800)
    wall_fleet, _, res_fleet = timed(lambda: vsim.run(fleet))
    fleet_rate = res_fleet.summary["requests_completed"] / wall_fleet
    cores = os.cpu_count()
    print(
        f"requests: bare SimPy M/M/1 {bare_rate:,.0f} customers/s; vsim M/M/1-PS "
        f"{ps_rate:,.0f} requests/s ({bare_rate / ps_rate:.2f}x the bare cost per request); "
        f"1,000 services on 100 hosts {fleet_rate:,.0f} requests/s "
        f"({bare_rate / fleet_rate:.2f}x); {cores} cores"
    )
    for name, rate, wall in (
        ("simpy_bare_mm1", bare_rate, wall_bare),
        ("vsim_mm1_ps", ps_rate, wall_ps),
        ("vsim_1000_services_100_hosts", fleet_rate, wall_fleet),
    ):
        rows.append(
            {
                "benchmark": name,
                "cores": cores,
                "requests_per_s": rate,
                "wall_s": wall,
                "cost_vs_bare_simpy": bare_rate / rate,
            }
        )
    return rows


if __name__ == "__main__":
    main()
