"""Property-based runs: random valid scenarios, and random mutations of them, give a clean
error or a result, never another exception; every result obeys the invariants of any run.

The invariants, each read from the result's tables (not from the engine's internals):

* per host and sample, CPU granted <= capacity (``cpu_util`` <= 1), utilizations in [0, 1],
  memory placed <= memory x overcommit; and the CPU the guests on a host were granted over a
  sample fits in that host's capacity (a separate reading, from the ``guests`` table);
* guests conserved: every configured guest is in the last sample exactly once, and the
  rejected ones there are the summary's ``guests_rejected`` and the ``rejected`` events;
* requests conserved: created = completed + rejected + timed out + failed + in flight (the
  last read from the stations at the end); the requests table (every request recorded) holds
  each outcome the summary counts, and no request ended twice;
* energy equals the integral of power: the summary's ``energy_kwh`` against the sum of each
  sample's mean power over the length of its interval.

The example count is modest by default; ``VSIM_PROPERTY_EXAMPLES=500 pytest
tests/test_properties.py`` runs a longer soak.
"""

from __future__ import annotations

import copy
import math
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vsim
from vsim.scenario import ScenarioError, validate_scenario
from vsim.traces import TraceError

EXAMPLES = int(os.environ.get("VSIM_PROPERTY_EXAMPLES", "25"))
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every machine: a failure reproduces
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
POLICIES = ("first_fit", "best_fit", "worst_fit", "dot_product", "balanced", "random")
TOL = 1e-9


# ------------------------------------------------------------------ valid scenarios
@st.composite
def workloads(draw) -> dict:
    kind = draw(st.sampled_from(["constant", "diurnal", "random_walk", "batch", "service"]))
    mem = draw(st.floats(0.1, 1.0))
    if kind == "constant":
        return {"kind": kind, "cpu": draw(st.floats(0.0, 1.0)), "memory": mem}
    if kind == "diurnal":
        mean = draw(st.floats(0.1, 0.8))
        return {
            "kind": kind,
            "mean": mean,
            "amplitude": draw(st.floats(0.0, min(mean, 1 - mean))),
            "period": f"{draw(st.integers(10, 60))}m",
            "memory": mem,
        }
    if kind == "random_walk":
        return {"kind": kind, "start": draw(st.floats(0.1, 0.9)), "sigma": 0.1, "memory": mem}
    if kind == "batch":
        return {"kind": kind, "cpu_work": draw(st.floats(1e4, 1e7))}
    return {
        "kind": kind,
        "arrivals": {"process": "poisson", "rate": draw(st.floats(0.1, 5.0))},
        "cpu": {"dist": "exponential", "mean": draw(st.floats(50.0, 2000.0))},
        "workers": draw(st.integers(1, 4)),
        "slo": "1s",
    }


@st.composite
def scenarios(draw) -> dict:
    n_types = draw(st.integers(1, 2))
    host_types = [
        {
            "name": f"h{t}",
            "count": draw(st.integers(1, 4)),
            "cores": draw(st.integers(1, 16)),
            "core_mips": 2000,
            "memory": f"{draw(st.integers(4, 64))}GiB",
        }
        for t in range(n_types)
    ]
    names = [f"w{i}" for i in range(draw(st.integers(1, 3)))]
    loads = {n: draw(workloads()) for n in names}
    guests = []
    # Every guest fits the smallest host: one that fits none is refused (a test of its own).
    smallest = min(t["cores"] for t in host_types)
    least_gib = min(int(t["memory"][:-3]) for t in host_types)
    for i in range(draw(st.integers(1, 4))):
        guests.append(
            {
                "name": f"g{i}",
                "kind": draw(st.sampled_from(["vm", "container"])),
                "count": draw(st.integers(1, 6)),
                "vcpus": draw(st.integers(1, smallest)),
                "vcpu_mips": 2000,
                "memory": f"{draw(st.integers(1, least_gib))}GiB",
                "workload": draw(st.sampled_from(names)),
                "start": f"{draw(st.integers(0, 20))}m",
            }
        )
    served = [g["workload"] for g in guests if loads[g["workload"]]["kind"] == "service"]
    if served and draw(st.booleans()):  # a second tier: requests hop between guests
        loads[served[0]]["next"] = "t2"
        loads["tier2"] = {"kind": "service", "cpu": {"dist": "exponential", "mean": 300.0}}
        guests.append(
            {
                "name": "t2",
                "count": draw(st.integers(1, 2)),
                "vcpus": 1,
                "vcpu_mips": 2000,
                "memory": "1GiB",
                "workload": "tier2",
            }
        )
    minutes = draw(st.integers(10, 40))
    data = {
        "name": "property",
        "seed": draw(st.integers(0, 2**31)),
        "duration": f"{minutes}m",
        "sample_interval": f"{draw(st.sampled_from([30, 60, 120]))}s",
        "datacenter": {"host_types": host_types},
        "scheduler": {
            "policy": draw(st.sampled_from(POLICIES)),
            "order": draw(st.sampled_from(["given", "largest_first"])),
            "overcommit": {"cpu": draw(st.floats(1.0, 2.0)), "memory": draw(st.floats(1.0, 1.5))},
        },
        "workloads": loads,
        "guests": guests,
    }
    extras = draw(st.sets(st.sampled_from(["events", "failures", "consolidation"])))
    if "events" in extras:
        at = f"{draw(st.integers(1, minutes - 1))}m"
        data["events"] = [
            {
                "at": at,
                "action": draw(st.sampled_from(["pause", "stop"])),
                "guest": "g0-0" if guests[0]["count"] > 1 else "g0",
            }
        ]
    if "failures" in extras:
        data["failures"] = {
            "hosts": [
                {
                    "time_to_failure": {"distribution": "exponential", "mtbf": "30m"},
                    "repair": {"distribution": "exponential", "mttr": "5m"},
                }
            ],
            "ha": {"enabled": draw(st.booleans())},
        }
    if "consolidation" in extras:
        data["consolidation"] = {
            "interval": "5m",
            "detector": draw(st.sampled_from(["thr", "mad", "lr"])),
            "selection": draw(st.sampled_from(["mmt", "mc", "rs", "mu"])),
            "param": 0.8,
        }
    return data


# ------------------------------------------------------------------ mutations
BAD_VALUES = (-1, 0, "bogus", ".inf", "1e400s", None, [], {}, 10**12, "64")


def _leaves(node, path=()):
    """Every (path, value) of a nested dict/list."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for k, v in items:
        if isinstance(v, (dict, list)) and v:
            yield from _leaves(v, (*path, k))
        else:
            yield (*path, k), v


@st.composite
def mutated(draw) -> dict:
    data = draw(scenarios())
    leaves = list(_leaves(data))
    path, _ = draw(st.sampled_from(leaves))
    node = data
    for k in path[:-1]:
        node = node[k]
    if draw(st.booleans()) and isinstance(node, dict):
        del node[path[-1]]  # a missing field
    else:
        node[path[-1]] = draw(st.sampled_from(BAD_VALUES))
    return data


# ------------------------------------------------------------------ the invariants
def check_invariants(sc: vsim.Scenario, res) -> None:
    _check_hosts(sc, res)
    _check_host_cpu_from_guests(sc, res)
    _check_guests_conserved(sc, res)
    _check_requests(res)
    _check_energy(sc, res)


def _check_hosts(sc, res) -> None:
    h = res.hosts
    for col in ("cpu_util", "hypervisor_util", "disk_util", "net_util"):
        assert ((h[col] >= -TOL) & (h[col] <= 1 + TOL)).all(), col
    mem_cap = sc.scheduler.overcommit.memory
    assert ((h.mem_util >= -TOL) & (h.mem_util <= mem_cap + TOL)).all()
    assert (h.power_w >= 0).all()


def _capacity(sc) -> dict[str, float]:
    """Each host's CPU capacity in MIPS, by its name."""
    caps = {}
    for t in sc.datacenter.host_types:
        for i in range(t.count):
            caps[f"{t.name}-{i}"] = t.cores * t.core_mips
    return caps


def _check_host_cpu_from_guests(sc, res) -> None:
    g = res.guests
    if g is None or g.empty or len(res.migrations):
        return  # a guest that moved mid-sample was granted CPU on two hosts
    # Containers inside a VM use the VM's grant; only guests placed on a host count here.
    caps = _capacity(sc)
    on_host = g[g.host.isin(caps.keys())]
    granted = (
        (on_host.cpu_alloc_mips + on_host.cpu_overhead_mips)
        .groupby([on_host.time_s, on_host.host])
        .sum()
    )
    cap = granted.index.get_level_values("host").map(caps).to_numpy(dtype=float)
    assert (granted.to_numpy() <= cap * (1 + 1e-9) + TOL).all()


def _check_guests_conserved(sc, res) -> None:
    configured = sum(grp.count for grp in sc.guests)
    assert int(res.summary["guests"]) == configured
    g = res.guests
    if g is None or g.empty:
        return
    last = g[g.time_s == g.time_s.max()]
    assert last.guest.is_unique and len(last) == configured
    rejected_events = res.events[res.events.kind == "rejected"].subject
    assert rejected_events.is_unique
    rejected = int(res.summary["guests_rejected"])
    assert rejected == len(rejected_events) == int((last.state == "rejected").sum())
    placed = set(res.events[res.events.kind == "placed"].subject)
    assert not placed & set(rejected_events)
    # A guest never placed nor rejected is still waiting for its start.
    waiting = last[~last.guest.isin(placed | set(rejected_events))]
    assert (waiting.state == "pending").all()


def _check_requests(res) -> None:
    s = res.summary
    if "requests_created" not in s.index:
        return
    # No warmup here, so the outcome counts cover every request; those still queued, served
    # or between tiers are read from the stations, apart from the counts.
    ended = sum(int(s[f"requests_{k}"]) for k in ("completed", "rejected", "timed_out", "failed"))
    assert int(s["requests_created"]) == ended + int(s["requests_in_flight"])
    r = res.requests
    if r is None:
        return
    if int(s["requests_recorded"]) != len(r):
        return
    assert r.id.is_unique  # no request ended twice
    counts = r.status.value_counts()
    for status in ("completed", "rejected", "timed_out", "failed"):
        assert int(counts.get(status, 0)) == int(s[f"requests_{status}"]), status
    done = r[r.status == "completed"]
    assert (done.end_s >= done.start_s - TOL).all() and (done.start_s >= done.arrival_s - TOL).all()


def _check_energy(sc, res) -> None:
    h = res.hosts
    times = np.unique(h.time_s.to_numpy())
    # A sample holds the mean over the interval that ends at its time.
    lengths = np.diff(np.concatenate(([0.0], times)))
    total_power = h.groupby("time_s").power_w.sum().reindex(times).to_numpy()
    integral_kwh = float((total_power * lengths).sum()) / 3.6e6
    assert math.isclose(float(res.summary["energy_kwh"]), integral_kwh, rel_tol=1e-9, abs_tol=1e-12)


# ------------------------------------------------------------------ the properties
def _run_or_clean_error(data: dict):
    """The scenario's result, or None after a clean error (what the CLI prints and exits 1 on)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            sc = validate_scenario(copy.deepcopy(data))
        except ScenarioError:
            return None, None
        try:
            return sc, vsim.run(sc)
        except (ScenarioError, TraceError):
            return sc, None


@PROPERTY
@given(scenarios())
def test_valid_scenarios_run_and_keep_the_invariants(data):
    sc, res = _run_or_clean_error(data)
    assert sc is not None, "a generated scenario is valid by construction"
    assert res is not None
    check_invariants(sc, res)


@PROPERTY
@given(mutated())
def test_mutated_scenarios_give_a_clean_error_or_a_sound_result(data):
    sc, res = _run_or_clean_error(data)
    if res is not None:
        check_invariants(sc, res)


class _With:
    """A result with some of its tables replaced."""

    def __init__(self, res, **tables):
        self._res, self._tables = res, tables

    def __getattr__(self, name):
        return self._tables.get(name, getattr(self._res, name))


def test_the_invariants_catch_a_broken_result():
    """The checks can fail: a result with one sample's power doubled breaks the energy check,
    and one with a guest dropped from the last sample breaks conservation."""
    data = {
        "name": "broken",
        "seed": 1,
        "duration": "10m",
        "sample_interval": "1m",
        "datacenter": {
            "host_types": [
                {"name": "h", "count": 2, "cores": 4, "core_mips": 2000, "memory": "16GiB"}
            ]
        },
        "workloads": {"w": {"kind": "constant", "cpu": 0.5, "memory": 0.5}},
        "guests": [
            {
                "name": "g",
                "count": 3,
                "vcpus": 2,
                "vcpu_mips": 2000,
                "memory": "2GiB",
                "workload": "w",
            }
        ],
    }
    sc, res = _run_or_clean_error(data)
    check_invariants(sc, res)
    res.hosts.loc[res.hosts.index[0], "power_w"] *= 2
    with pytest.raises(AssertionError):
        _check_energy(sc, res)
    guests = res.guests
    dropped = guests.drop(guests.index[guests.time_s == guests.time_s.max()][:1])
    with pytest.raises(AssertionError):
        _check_guests_conserved(sc, _With(res, guests=dropped))
