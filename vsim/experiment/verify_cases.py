"""The validation cases of ``vsim verify``, shared with the test suite.

Each factory returns a :class:`~vsim.experiment.verify.Case`: the scenario, what is measured,
and the reference with its source. The references are written here as plain textbook formulas,
independent of vsim's own closed forms (``vsim.metrics.latency``, ``vsim.core.precopy``), so
that a mistake in vsim's code cannot hide behind the same mistake in its reference.

- queueing: one 1000-MIPS core (or c of them) serves Poisson arrivals of requests of mean
  1000 MI, so the mean service time is 1 s and the utilization is the arrival rate;
- pre-copy: one live migration over an idle 1 Gbps link against the geometric series;
- availability: one host failing and repaired at exponential times, no HA;
- sharing: CPU, batch work and disk shared by weighted max-min, computed by hand;
- parity: PlanetLab day 20110303 under the ``cloudsim`` profile against CloudSim 4.0.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from vsim.core import precopy
from vsim.experiment.verify import Case, Quantity
from vsim.scenario import Scenario, validate_scenario

REPLICATIONS = 4
TOL = 0.03  # relative, on top of the confidence interval
UTILIZATIONS = (0.5, 0.8, 0.9)
REQUESTS = 30000  # per run at full utilization of every core
EXP = {"dist": "exponential", "mean": 1000}
# Mean 1 s: 0.9 x 0.5 s + 0.1 x 5.5 s; E[S^2] = 2 (0.9 x 0.25 + 0.1 x 30.25) = 6.5.
HYPEREXP = {"dist": "hyperexponential", "means": [500, 5500], "probs": [0.9, 0.1]}
HYPEREXP_ES2 = 6.5
PS_SIZES = (500, 1500)  # MI: 0.5 s and 1.5 s of service

KLEINROCK_1 = "Kleinrock, Queueing Systems vol. 1: Theory (1975)"
KLEINROCK_2 = "Kleinrock, Queueing Systems vol. 2: Computer Applications (1976), processor sharing"
PRECOPY = "Clark et al., NSDI 2005; Akoush et al., MASCOTS 2010 (geometric pre-copy series)"
RENEWAL = (
    "alternating renewal process, long-run availability (e.g. Trivedi, Probability and "
    "Statistics with Reliability, Queuing and Computer Science Applications, 2nd ed., 2002)"
)
MAXMIN = (
    "weighted max-min fairness, computed by hand "
    "(Bertsekas & Gallager, Data Networks, 2nd ed., 1992, 6.5.2)"
)
CLOUDSIM = (
    "CloudSim 4.0 on PlanetLab day 20110303, trace files in sorted name order, the experiment "
    "of Beloglazov & Buyya, CCPE 24(13), 2012 (figures recorded in "
    "vsim/experiments/beloglazov.py)"
)


# ------------------------------------------------------------------------------- queueing


def service_scenario(
    rho: float,
    *,
    cpu: Any,
    workers: int | None = None,
    cores: int = 1,
    seed: int = 1,
    duration: float | None = None,
    rate: float | None = None,
    **extra: Any,
) -> Scenario:
    """One host of ``cores`` 1000-MIPS cores and one guest serving Poisson arrivals at
    ``rho x cores`` per second (or ``rate``), after a warm-up of several relaxation times."""
    # Run long enough for about REQUESTS requests at full utilization of every core.
    duration = duration or REQUESTS / cores
    warmup = 200.0 / (1 - rho)  # several relaxation times of the queue
    workload = {
        "kind": "service",
        "arrivals": {"process": "poisson", "rate": rate or rho * cores},
        "cpu": cpu,
        "workers": workers,
        "warmup": warmup,
        **extra,
    }
    host = {"name": "h", "count": 1, "cores": cores, "core_mips": 1000, "memory": "4GiB"}
    guest = {
        "name": "s",
        "vcpus": cores,
        "vcpu_mips": 1000,
        "memory": "1GiB",
        "workload": "svc",
        "boot_time": 0,
    }
    return validate_scenario(
        {
            "duration": duration + warmup,
            "sample_interval": duration + warmup,
            "seed": seed,
            "datacenter": {"host_types": [host]},
            "workloads": {"svc": workload},
            "guests": [guest],
        }
    )


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c with offered load a = lambda / mu."""
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def pollaczek_khinchine(rho: float, es: float, es2: float) -> float:
    """Mean response time of M/G/1-FCFS: E[S] + lambda E[S^2] / (2 (1 - rho))."""
    return es + rho / es * es2 / (2 * (1 - rho))


def _mean_latency(res) -> list[float]:
    return [float(res.summary["latency_s_mean"])]


def _queueing(name, formula, source, reference, build, tol=TOL, quantity="mean response (s)"):
    return Case(
        name, "queueing", formula, source, (Quantity(quantity, reference, rel=tol),),
        build, _mean_latency, seeds=tuple(range(1, REPLICATIONS + 1)),
    )  # fmt: skip


def mm1_ps(rho: float, requests: float = REQUESTS) -> Case:
    """M/M/1 processor sharing: E[T] = E[S] / (1 - rho)."""
    return _queueing(
        f"M/M/1-PS rho={rho:g}", "E[T] = E[S] / (1 - rho)", KLEINROCK_2, 1 / (1 - rho),
        lambda s: service_scenario(rho, cpu=EXP, seed=s, duration=requests),
    )  # fmt: skip


def mm1_fcfs(rho: float, requests: float = REQUESTS) -> Case:
    """M/M/1 with one worker (FCFS): E[T] = E[S] / (1 - rho)."""
    return _queueing(
        f"M/M/1-FCFS rho={rho:g}", "E[T] = E[S] / (1 - rho)", KLEINROCK_1, 1 / (1 - rho),
        lambda s: service_scenario(rho, cpu=EXP, workers=1, seed=s, duration=requests),
    )  # fmt: skip


def mmc_erlang_c(rho: float, c: int = 4, requests: float = REQUESTS) -> Case:
    """M/M/c FCFS on c cores: E[T] = E[S] + C(c, a) E[S] / (c - a), a = rho c."""
    a = rho * c
    return _queueing(
        f"M/M/{c} rho={rho:g}", "E[T] = E[S] + C(c,a) E[S] / (c - a), Erlang C", KLEINROCK_1,
        1 + erlang_c(c, a) / (c - a),
        lambda s: service_scenario(
            rho, cpu=EXP, workers=c, cores=c, seed=s, duration=requests / c
        ),
    )  # fmt: skip


def md1(rho: float, requests: float = REQUESTS) -> Case:
    """M/D/1: Pollaczek-Khinchine with E[S^2] = E[S]^2."""
    return _queueing(
        f"M/D/1 rho={rho:g}", "Pollaczek-Khinchine, E[S^2] = 1 s^2", KLEINROCK_1,
        pollaczek_khinchine(rho, 1.0, 1.0),
        lambda s: service_scenario(rho, cpu=1000, workers=1, seed=s, duration=requests),
    )  # fmt: skip


def mg1_hyperexponential(rho: float, requests: float = REQUESTS) -> Case:
    """M/H2/1 FCFS: Pollaczek-Khinchine with E[S^2] = 6.5 s^2 (5 % tolerance: heavy tail)."""
    return _queueing(
        f"M/G/1 (H2) rho={rho:g}", "Pollaczek-Khinchine, E[S^2] = 6.5 s^2", KLEINROCK_1,
        pollaczek_khinchine(rho, 1.0, HYPEREXP_ES2),
        lambda s: service_scenario(rho, cpu=HYPEREXP, workers=1, seed=s, duration=requests),
        tol=0.05,
    )  # fmt: skip


def _latency_by_size(res) -> list[float]:
    req = res.requests
    return [float(req.latency_s[req.cpu_mi == size].mean()) for size in PS_SIZES]


def ps_insensitivity(rho: float = 0.8, requests: float = REQUESTS) -> Case:
    """M/G/1-PS: E[T | S = x] = x / (1 - rho) whatever the service distribution (here two
    request sizes, equally likely)."""
    cpu = {"dist": "empirical", "values": list(PS_SIZES)}
    quantities = tuple(
        Quantity(f"E[T | S={size / 1000:g} s] (s)", size / 1000 / (1 - rho), rel=TOL)
        for size in PS_SIZES
    )
    return Case(
        f"M/G/1-PS insensitivity rho={rho:g}", "queueing", "E[T | S = x] = x / (1 - rho)",
        KLEINROCK_2, quantities,
        lambda s: service_scenario(rho, cpu=cpu, seed=s, duration=requests),
        _latency_by_size, seeds=tuple(range(1, REPLICATIONS + 1)),
    )  # fmt: skip


# ------------------------------------------------------------------------------- pre-copy

GIB = 2.0**30
NIC = 125e6  # 1 Gbps in bytes/s
DEVICE_STATE = 2.0**20  # bytes sent with the guest paused, besides its last dirty pages
MAX_DOWNTIME = 0.3  # s, the default budget


def precopy_closed_form(M: float, B: float, D: float, Td: float, S: float = 0.0):
    """Rounds minus one, live time, downtime and bytes of the geometric pre-copy series.

    With r = D / B < 1 round i sends M r^i. Pre-copy stops after the first round n whose next
    remainder M r^(n+1) fits the budget: M r^(n+1) / B <= Td, i.e. n + 1 >= log(Td B / M) /
    log r, so n = max(0, ceil(log(Td B / M) / log r) - 1). With no dirtying, one round."""
    if D == 0.0:
        return 0, M / B, S / B, M + S
    r = D / B
    n = max(0, math.ceil(math.log(Td * B / M) / math.log(r)) - 1)
    live = (M / B) * (1 - r ** (n + 1)) / (1 - r)
    down = (M * r ** (n + 1) + S) / B
    total_bytes = M * (1 - r ** (n + 2)) / (1 - r) + S
    return n, live, down, total_bytes


def migration_scenario(
    dirty="20MB/s", algorithm="precopy", noisy=False, *, busy=None, network="ideal", **migration
) -> Scenario:
    """Two 4-core hosts on 1 Gbps NICs; guest ``v`` (4 GiB, half a core busy, dirtying
    ``dirty``) is migrated from h-0 to h-1 at 100 s; with ``noisy`` a guest beside it on h-0
    sends as fast as its NIC allows. ``busy`` replaces v's workload fields (its size too, as
    ``memory_size``); ``network`` is the network model."""
    busy = dict(busy or {"cpu": 0.5, "dirty_rate": dirty})
    guest = {"vcpus": 1, "vcpu_mips": 1000.0, "boot_time": 0, "host": "h-0"}
    size = busy.pop("memory_size", "4GiB")
    guests = [{"name": "v", "memory": size, "workload": "busy", **guest}]
    if noisy:
        guests.append({"name": "n", "memory": "1GiB", "workload": "talker", **guest})
    host = {"name": "h", "count": 2, "cores": 4, "core_mips": 1000.0, "memory": "16GiB",
            "nic_bandwidth": "1Gbps"}  # fmt: skip
    return validate_scenario(
        {
            "duration": 600,
            "sample_interval": 600,
            "datacenter": {"host_types": [host]},
            "workloads": {
                "busy": {"kind": "constant", **busy},
                "talker": {"kind": "constant", "cpu": 0.1, "net": "1Gbps"},
            },
            "guests": guests,
            # The closed-form series moves bytes at the link's nominal rate, with no startup
            # latency: the ideal network model (docs/network.md gives TCP's goodput).
            "network": {"model": network},
            "migration": {"algorithm": algorithm, **migration},
            "events": [{"at": 100, "action": "migrate", "guest": "v", "to": "h-1"}],
        }
    )


def _migration_measure(res) -> list[float]:
    (row,) = res.migrations.itertuples()
    return [row.end_s - row.start_s, row.downtime_s, row.rounds, row.bytes_sent]


def precopy_migration(dirty: str = "20MB/s") -> Case:
    """One uncontended pre-copy migration against the closed-form series."""
    rate = migration_scenario(dirty).workloads["busy"].dirty_rate
    n, live, down, total = precopy_closed_form(4 * GIB, NIC, rate, MAX_DOWNTIME, DEVICE_STATE)
    quantities = (
        Quantity("total time (s)", live + down, rel=1e-9),
        Quantity("downtime (s)", down, rel=1e-9),
        Quantity("rounds", n + 1),
        Quantity("bytes sent", total, rel=1e-9),
    )
    return Case(
        f"pre-copy 4 GiB, 1 Gbps, dirty {dirty}", "pre-copy",
        "round i sends M r^i, r = D / B, until M r^(n+1) / B <= 0.3 s", PRECOPY, quantities,
        lambda s: migration_scenario(dirty), _migration_measure,
    )  # fmt: skip


# A guest dirtying 80 kB per MI of useful work, half a 1000-MIPS core busy, 10 % of it lost to
# its own migration (the default degradation): 0.5 x 1000 x 0.9 x 80e3 = 36 MB/s of dirtying.
PER_MI = 80e3
WORK_DIRTY = PER_MI * 0.5 * 1000.0 * (1 - 0.1)
# TCP over Gigabit Ethernet with vsim's defaults: 1448 payload bytes per 1538 on the wire, and
# each transfer waits the route's one-way latency (two 5 us host links); docs/network.md.
TCP_GOODPUT = NIC * 1448 / 1538
TCP_STARTUP = 2 * 5e-6
SIMGRID = "Hirofuchi et al., SimGrid VM, IEEE TCC 2015 (1 GiB idle VM, 1 Gb/s: 9.30 s)"
SIMGRID_1GIB_S = 9.30


def _schedule_quantities(sched: precopy.PrecopyResult, rel: float = 1e-9) -> tuple:
    return (
        Quantity("total time (s)", sched.total_time, rel=rel),
        Quantity("downtime (s)", sched.downtime, rel=rel),
        Quantity("rounds", sched.rounds),
        Quantity("bytes sent", sched.total_bytes, rel=rel),
    )


def precopy_from_work() -> Case:
    """Pre-copy of a guest whose dirtying follows its useful work (``dirty_per_mi``), under the
    default TCP network: the series at the rate that work gives, with TCP's goodput and
    startups."""
    sched = precopy.precopy_schedule(
        4 * GIB, TCP_GOODPUT, WORK_DIRTY, device_state=DEVICE_STATE, latency=TCP_STARTUP
    )
    busy = {"cpu": 0.5, "dirty_per_mi": PER_MI}
    return Case(
        "pre-copy 4 GiB, TCP 1 Gbps, dirty 80 kB/MI of work", "pre-copy",
        "D = bytes/MI x useful MIPS (36 MB/s); T_i = L + V_i / B at TCP goodput", PRECOPY,
        _schedule_quantities(sched),
        lambda s: migration_scenario(busy=busy, network="tcp"), _migration_measure,
    )  # fmt: skip


def idle_migration_tcp() -> Case:
    """An idle 1 GiB VM over 1 Gb/s with the default TCP model: the goodput closed form exactly,
    and SimGrid's published 9.30 s within 2 %."""
    t = (GIB + DEVICE_STATE) / TCP_GOODPUT + 2 * TCP_STARTUP
    busy = {"cpu": 0.0, "memory_size": "1GiB"}
    return Case(
        "idle 1 GiB VM, TCP 1 Gbps", "network",
        "(M + S) / (B x 1448/1538) + 2 L; SimGrid's 9.30 s within 2 %", SIMGRID,
        (Quantity("time, closed form (s)", t, rel=1e-9),
         Quantity("time, SimGrid (s)", SIMGRID_1GIB_S, rel=0.02)),
        lambda s: migration_scenario(busy=busy, network="tcp"),
        lambda res: [_migration_measure(res)[0]] * 2,
    )  # fmt: skip


# --------------------------------------------------------------------------- availability


def availability_scenario(mtbf: float, mttr: float, seed: int, duration: float) -> Scenario:
    """One host failing and repaired at exponential times, one guest restarted on it with no
    boot time (no HA): the guest is up exactly when the host is."""
    host = {"name": "h", "count": 1, "cores": 2, "core_mips": 1000.0, "memory": "16GiB"}
    guest = {"name": "g", "kind": "vm", "vcpus": 1, "vcpu_mips": 1000.0, "memory": "64MiB"}
    failures = {
        "hosts": [
            {
                "time_to_failure": {"distribution": "exponential", "mtbf": mtbf},
                "repair": {"distribution": "exponential", "mttr": mttr},
            }
        ]
    }
    return validate_scenario(
        {
            "duration": duration,
            "sample_interval": duration,
            "datacenter": {"host_types": [host]},
            "guests": [{**guest, "workload": None, "boot_time": 0}],
            "workloads": {},
            "failures": failures,
            "seed": seed,
        }
    )


def availability_without_ha(mtbf: float = 1000.0, mttr: float = 100.0) -> Case:
    """The time-average of an alternating renewal process: MTBF / (MTBF + MTTR), checked with
    a 99 % interval over ten runs that must be tighter than 0.01."""
    quantity = Quantity("availability", mtbf / (mtbf + mttr), max_half=0.01)
    return Case(
        f"availability, no HA, MTBF {mtbf:g} s, MTTR {mttr:g} s", "availability",
        "A = MTBF / (MTBF + MTTR)", RENEWAL, (quantity,),
        lambda s: availability_scenario(mtbf, mttr, s, 2e5),
        lambda res: [float(res.summary["availability"])], seeds=tuple(range(10)), level=0.99,
    )  # fmt: skip


# -------------------------------------------------------------------------------- sharing

FULL = {"full": {"kind": "constant", "cpu": 1.0}}
RTOL = 1e-12


def one_host_scenario(guests: list[dict], workloads: dict, cores: int = 1, **kw: Any) -> Scenario:
    """One host of ``cores`` 1000-MIPS cores holding ``guests`` (single-vCPU, 1 GiB unless they
    say otherwise), run for ``duration`` (300 s) sampled once."""
    duration = kw.pop("duration", 300)
    host = {"name": "h", "count": 1, "cores": cores, "core_mips": 1000.0, "memory": "16GiB"}
    base = {"kind": "vm", "vcpus": 1, "vcpu_mips": 1000.0, "memory": "1GiB", "boot_time": 0}
    return validate_scenario(
        {
            "duration": duration,
            "sample_interval": duration,
            "datacenter": {"host_types": [{**host, **kw.pop("host", {})}]},
            "guests": [{**base, **g} for g in guests],
            "workloads": workloads,
            **kw,
        }
    )


def _cpu_alloc(names):
    def measure(res) -> list[float]:
        alloc = res.guests.groupby("guest", observed=True)["cpu_alloc_mips"].mean()
        return [float(alloc[n]) for n in names]

    return measure


def _job_ends(names):
    def measure(res) -> list[float]:
        ev = res.events
        done = ev[ev.kind == "job_done"].set_index("subject").time_s
        return [float(done[n]) for n in names]

    return measure


def three_vms_on_two_cores() -> Case:
    """Three single-vCPU VMs each wanting a whole core of a 2-core host: 2000/3 MIPS each and a
    third of the demand unmet."""

    def build(seed: int) -> Scenario:
        guests = [{"name": "v", "workload": "full", "count": 3}]
        return one_host_scenario(guests, FULL, cores=2, scheduler={"overcommit": {"cpu": 2}})

    quantities = [Quantity(f"CPU v-{i} (MIPS)", 2000 / 3, rel=RTOL) for i in range(3)]
    quantities.append(Quantity("unmet CPU fraction", 1 / 3, rel=RTOL))
    alloc = _cpu_alloc([f"v-{i}" for i in range(3)])
    return Case(
        "3 full VMs on 2 cores", "sharing", "2 cores / 3 equal weights; unmet 1/3", MAXMIN,
        tuple(quantities), build,
        lambda res: [*alloc(res), float(res.summary["unmet_cpu_frac"])],
    )  # fmt: skip


def cpu_shares(cap: float | None = None) -> Case:
    """Weights 1:1:2 (CPU shares) on 2 cores, each guest able to use 2: 0.5, 0.5 and 1 core;
    with ``cap`` cores of CFS quota on the third, the others split the rest."""
    cores_c = 1.0 if cap is None else min(cap, 1.0)
    rest = (2.0 - cores_c) / 2

    def build(seed: int) -> Scenario:
        guests = [
            {"name": "a", "workload": "full", "vcpus": 2, "cpu_shares": 1024},
            {"name": "b", "workload": "full", "vcpus": 2, "cpu_shares": 1024},
            {"name": "c", "workload": "full", "vcpus": 2, "cpu_shares": 2048},
        ]
        if cap is not None:
            guests[2]["cpu_limit"] = cap
        return one_host_scenario(guests, FULL, cores=2, scheduler={"overcommit": {"cpu": 3}})

    expect = {"a": rest * 1000, "b": rest * 1000, "c": cores_c * 1000}
    name = "CPU shares 1:1:2" + ("" if cap is None else f", c capped at {cap:g} core")
    formula = "2 cores by weight 1:1:2" + ("" if cap is None else "; c's cap, rest split 1:1")
    return Case(
        name, "sharing", formula, MAXMIN,
        tuple(Quantity(f"CPU {n} (MIPS)", v, rel=RTOL) for n, v in expect.items()),
        build, _cpu_alloc(list(expect)),
    )  # fmt: skip


def batch_processor_sharing() -> Case:
    """Jobs of 1000 and 3000 MI on one 1000-MIPS core: 500 MIPS each until the small one ends
    at 2 s; the big one's last 2000 MI at full speed end at 4 s."""
    wl = {"small": {"kind": "batch", "cpu_work": 1000}, "big": {"kind": "batch", "cpu_work": 3000}}

    def build(seed: int) -> Scenario:
        guests = [{"name": "s", "workload": "small"}, {"name": "b", "workload": "big"}]
        return one_host_scenario(guests, wl, duration=10, scheduler={"overcommit": {"cpu": 2}})

    quantities = (
        Quantity("end of s (s)", 2.0, abs=RTOL),
        Quantity("end of b (s)", 4.0, abs=RTOL),
    )
    return Case(
        "batch jobs on one core", "sharing", "both at 500 MIPS, then b alone", MAXMIN,
        quantities, build, _job_ends(["s", "b"]),
    )  # fmt: skip


def disk_sharing() -> Case:
    """Two jobs of 1 s of CPU then 1 GB written, on one 100 MB/s disk: 1 + 2e9 / 1e8 = 21 s."""
    wl = {"job": {"kind": "batch", "cpu_work": 1000, "io_bytes": "1GB"}}

    def build(seed: int) -> Scenario:
        return one_host_scenario(
            [{"name": "j", "workload": "job", "count": 2}], wl, cores=2, duration=60,
            host={"disk_bandwidth": "100MB/s"},
        )  # fmt: skip

    quantities = tuple(Quantity(f"end of j-{i} (s)", 21.0, rel=RTOL) for i in range(2))
    return Case(
        "two writers on one disk", "sharing", "1 s CPU + 2 GB / 100 MB/s", MAXMIN, quantities,
        build, _job_ends(["j-0", "j-1"]),
    )  # fmt: skip


def xen_dom0_sharing() -> Case:
    """A Xen guest on the split-driver path and its driver domain on one 1000-MIPS core, and
    with dom0 pinned on the second of two cores. The job does 10 disk I/Os and 20 packets per
    MI: per MI of useful work 0.021 MI in the guest (1 exit of 700 cycles per I/O and packet),
    0.18 in Xen (2000 and 8000 cycles), 0.40 in dom0 (10,000 and 15,000), so a 1000-MI job ends
    at 1.601 s on one core and at 1.201 s when dom0 has its own core."""
    profile = {"io_ops": 10, "net_packets": 20}
    wl = {"job": {"kind": "batch", "cpu_work": 1000, "profile": profile}}
    xen = {"virtualization": "paravirtual", "io_path": "xen_split", "workload": "job"}

    def build(seed: int) -> Scenario:
        host = {"name": "shared", "count": 1, "cores": 1, "core_mips": 1000.0, "memory": "16GiB"}
        pinned = {**host, "name": "pinned", "cores": 2, "driver_domain": {"pinned": True}}
        guests = [
            {**xen, "name": "s", "host": "shared-0"},
            {**xen, "name": "p", "host": "pinned-0"},
        ]
        base = {"kind": "vm", "vcpus": 1, "vcpu_mips": 1000.0, "memory": "1GiB", "boot_time": 0}
        return validate_scenario(
            {
                "duration": 10,
                "sample_interval": 10,
                "datacenter": {"host_types": [host, pinned]},
                "guests": [{**base, **g} for g in guests],
                "workloads": wl,
            }
        )

    quantities = (
        Quantity("end, dom0 sharing the core (s)", 1.601, rel=RTOL),
        Quantity("end, dom0 pinned on its own core (s)", 1.201, rel=RTOL),
    )
    return Case(
        "Xen guest and dom0", "sharing", "W (1 + 0.021 + 0.18 + 0.40) / 1000; pinned: W 1.201",
        MAXMIN, quantities, build, _job_ends(["s", "p"]),
    )  # fmt: skip


# --------------------------------------------------------------------------------- parity

PARITY_POLICIES = ("LR-MMT-1.2", "THR-MMT-0.8")
PARITY_DAY = "20110303"
ENERGY_REL, MIGRATIONS_REL, SLATAH_ABS = 0.03, 0.05, 0.005


def data_folder(data: str | os.PathLike[str] | None = None) -> Path:
    """Where the real traces are: ``data``, else ``VSIM_DATA``, else ``shared/data`` beside
    the source tree (the lookup of the benchmarks)."""
    if data is not None:
        return Path(data)
    repo = Path(__file__).resolve().parents[2]
    return Path(os.environ.get("VSIM_DATA", repo.parent / "shared" / "data"))


def _parity_skip(folder: Path):
    def reason() -> str | None:
        if not folder.is_dir():
            return f"PlanetLab traces not found at {folder} (set VSIM_DATA or --data)"
        return None

    return reason


def _parity_measure(res) -> list[float]:
    s = res.summary
    return [float(s["energy_kwh_cloudsim"]), float(s["migrations"]), float(s["slatah"])]


def planetlab_parity(policy: str, data: str | os.PathLike[str] | None = None) -> Case:
    """PlanetLab day 20110303, ``cloudsim`` profile, against CloudSim 4.0: energy (CloudSim's
    accounting) within 3 %, migrations within 5 %, SLATAH within 0.5 points where CloudSim's
    figure is recorded (THR-MMT-0.8 has none)."""
    from vsim.experiments.beloglazov import CLOUDSIM_20110303, scenario

    root = data_folder(data)
    folder = root / "planetlab" / PARITY_DAY
    energy, migrations, slatah = CLOUDSIM_20110303[policy][:3]
    quantities = [
        Quantity("energy (kWh, CloudSim's)", energy, rel=ENERGY_REL),
        Quantity("migrations", migrations if migrations is not None else math.nan,
                 rel=MIGRATIONS_REL),
    ]  # fmt: skip
    if slatah is not None:
        quantities.append(Quantity("SLATAH", slatah, abs=SLATAH_ABS))
    measure = _parity_measure if slatah is not None else lambda r: _parity_measure(r)[:2]
    return Case(
        f"PlanetLab {PARITY_DAY} {policy}", "parity", "CloudSim 4.0 figure, same day", CLOUDSIM,
        tuple(quantities), lambda s: scenario(root, PARITY_DAY, policy, "cloudsim"), measure,
        skip_reason=_parity_skip(folder),
    )  # fmt: skip


# ------------------------------------------------------------------------------- registry


def default_cases(quick: bool = False, data: str | os.PathLike[str] | None = None) -> list[Case]:
    """The cases ``vsim verify`` runs: each queueing family at rho = 0.8 (M/M/1-PS also at 0.5
    and 0.9, the curve of a teaching figure), three pre-copy migrations at constant dirty rates
    and one dirtying by work under TCP, the idle migration against SimGrid, availability without
    HA, six sharing cases (one a Xen guest and its driver domain), and the PlanetLab parity.
    ``quick`` runs the queueing cases a quarter as long and leaves the parity out (about a third
    of the time)."""
    requests = REQUESTS / 4 if quick else REQUESTS
    queueing = [mm1_ps(rho, requests) for rho in UTILIZATIONS]
    queueing += [
        f(0.8, requests=requests)
        for f in (mm1_fcfs, mmc_erlang_c, md1, mg1_hyperexponential, ps_insensitivity)
    ]
    migrations = [precopy_migration(d) for d in ("0MB/s", "20MB/s", "60MB/s")]
    migrations += [precopy_from_work(), idle_migration_tcp()]
    sharing = [three_vms_on_two_cores(), cpu_shares(), cpu_shares(cap=0.4)]
    sharing += [batch_processor_sharing(), disk_sharing(), xen_dom0_sharing()]
    parity = [] if quick else [planetlab_parity(p, data) for p in PARITY_POLICIES]
    return [*queueing, *migrations, availability_without_ha(), *sharing, *parity]
