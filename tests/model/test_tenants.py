"""Tenants, isolation and co-residency attacks against closed forms and hand-computed runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vsim
from vsim.experiment.stats import proportion_interval
from vsim.scenario import validate_scenario

ROOT = Path(__file__).resolve().parents[2]
HOST = {"name": "h", "cores": 8, "core_mips": 2000, "memory": "32GiB"}


def _scenario(n_hosts: int, guests: list, attacks: list, **extra) -> vsim.Scenario:
    data = {
        "name": "tenants",
        "duration": "1h",
        "sample_interval": "10m",
        "datacenter": {"host_types": [{**HOST, "count": n_hosts}]},
        "workloads": {"w": {"kind": "constant", "cpu": 0.5}},
        "tenants": [{"name": "victim"}, {"name": "evil"}],
        "guests": guests,
        "attacks": attacks,
        **extra,
    }
    return validate_scenario(data)


def _victims(count: int, vcpus: float = 1, **kw) -> dict:
    return {
        "name": "v",
        "count": count,
        "vcpus": vcpus,
        "vcpu_mips": 2000,
        "memory": "1GiB",
        "workload": "w",
        "tenant": "victim",
        **kw,
    }


def _burst(k: int, vcpus: float = 1, **kw) -> dict:
    return {
        "name": "a",
        "tenant": "evil",
        "victims": {"tenant": "victim"},
        "strategy": "burst",
        "k": k,
        "at": [60],
        "vm": {"vcpus": vcpus, "vcpu_mips": 2000, "memory": "1GiB"},
        **kw,
    }


# ---------------------------------------------------------------------- closed form
@pytest.mark.parametrize("n_hosts,k", [(10, 5), (5, 8)])
def test_random_placement_coresidency_probability(n_hosts, k):
    """One victim VM, then k attacker VMs, each placed uniformly over N identical hosts with
    room to spare: P(some attacker VM on the victim's host) = 1 - (1 - 1/N)^k. Over 200 seeds
    the share of runs with coverage 1 must hold it in its 99.9% Clopper-Pearson interval."""
    runs = 200
    base = _scenario(n_hosts, [_victims(1)], [_burst(k)], scheduler={"policy": "random"})
    hits = 0
    for seed in range(runs):
        res = vsim.run(base.model_copy(update={"seed": seed}))
        hits += int(res.summary["a_coverage"] == 1.0)
    lo, hi = proportion_interval(hits, runs, 0.999)
    p = 1 - (1 - 1 / n_hosts) ** k
    assert lo <= p <= hi, (hits, runs, p)


# ---------------------------------------------------------------------- hand-computed
def test_first_fit_burst_by_hand():
    """4 hosts of 16,000 MIPS; victims v-0..v-2 of 8,000 MIPS by first fit: h-0, h-0, h-1.
    At 60 s three attacker VMs of 8,000 MIPS: h-1 (beside v-2), h-2, h-2. Coverage 1/3,
    efficiency 1/3, co-resident from the launch on: 3,540 victim-seconds; 3 x 3,540 s of VMs."""
    sc = _scenario(4, [_victims(3, vcpus=4)], [_burst(3, vcpus=4)])
    res = vsim.run(sc)
    s = res.summary
    assert s["a_coverage"] == pytest.approx(1 / 3)
    assert s["a_efficiency"] == pytest.approx(1 / 3)
    assert s["a_time_to_coresidency_s"] == 0.0
    assert s["a_coresident_victim_s"] == pytest.approx(3540.0)
    assert s["a_vm_hours"] == pytest.approx(3 * 3540 / 3600)
    assert s["a_launches"] == 3
    placed = res.events[res.events.kind == "placed"].set_index("subject")["detail"]
    assert placed[["v-0", "v-1", "v-2", "a-0", "a-1", "a-2"]].tolist() == [
        "h-0",
        "h-0",
        "h-1",
        "h-1",
        "h-2",
        "h-2",
    ]


def test_rack_level_coresidency_by_hand():
    """The same run on racks of two hosts: h-0/h-1 form rack 0, so a-0 on h-1 shares a rack
    with all three victims; a-1 and a-2 (rack 1) share none."""
    net = {"topology": "two_tier", "hosts_per_rack": 2}
    sc = _scenario(4, [_victims(3, vcpus=4)], [_burst(3, vcpus=4, level="rack")], network=net)
    s = vsim.run(sc).summary
    assert s["a_coverage"] == 1.0
    assert s["a_efficiency"] == pytest.approx(1 / 3)


def test_exclusive_victim_moves_the_attacker_by_hand():
    """Victims exclusive: first fit must skip h-1 (v-2 is there), the attackers go to h-2,
    h-2, h-3 and nobody is co-resident; h-0/h-1 hold one tenant each."""
    sc = _scenario(4, [_victims(3, vcpus=4)], [_burst(3, vcpus=4)])
    data = sc.model_dump(exclude_unset=True)
    data["tenants"][0]["isolation"] = "exclusive"
    res = vsim.run(validate_scenario(data))
    assert res.summary["a_coverage"] == 0.0
    placed = res.events[res.events.kind == "placed"].set_index("subject")["detail"]
    assert placed[["a-0", "a-1", "a-2"]].tolist() == ["h-2", "h-2", "h-3"]
    last = res.hosts[res.hosts.time_s == res.hosts.time_s.max()]
    assert last["tenants"].tolist() == [1, 1, 1, 1]
    assert res.summary["tenants_per_host_max"] == 1


def test_repeated_launches_by_hand():
    """Repeated, k=1, budget 3, rounds at 60, 660, 1260 s, probe 60 s, first fit. Round 1:
    a-0 on h-1 beside v-2, kept. Rounds 2, 3: h-1 is full, a-1 and a-2 land on h-2, beside no
    victim, and are stopped after the probe. VM time: 3,540 s + 2 x 60 s."""
    atk = {
        "name": "a",
        "tenant": "evil",
        "victims": {"guests": ["v-0", "v-1", "v-2"]},
        "strategy": "repeated",
        "k": 1,
        "start": 60,
        "interval": 600,
        "budget": 3,
        "probe": 60,
        "vm": {"vcpus": 4, "vcpu_mips": 2000, "memory": "1GiB"},
    }
    res = vsim.run(_scenario(4, [_victims(3, vcpus=4)], [atk]))
    s = res.summary
    assert s["a_launches"] == 3
    assert s["a_coverage"] == pytest.approx(1 / 3)
    assert s["a_efficiency"] == pytest.approx(1 / 3)
    assert s["a_vm_hours"] == pytest.approx((3540 + 120) / 3600)
    stopped = res.events[res.events.kind == "stopped"]
    assert stopped[["time_s", "subject"]].values.tolist() == [[720.0, "a-1"], [1320.0, "a-2"]]


def test_isolation_rejection_names_the_reason():
    """Two hosts, both holding guests without a tenant: an exclusive tenant's VM is rejected
    for isolation, not for room."""
    guests = [
        {"name": "x", "count": 2, "memory": "1GiB", "workload": "w"},
        {"name": "b", "memory": "1GiB", "workload": "w", "tenant": "victim", "start": 60},
    ]
    sc = _scenario(2, guests, [], scheduler={"policy": "worst_fit"})
    data = sc.model_dump(exclude_unset=True)
    data["tenants"][0]["isolation"] = "exclusive"
    res = vsim.run(validate_scenario(data))
    rej = res.events[res.events.kind == "rejected"]
    assert rej.subject.tolist() == ["b"]
    assert rej.detail.iloc[0].startswith("isolation: tenant 'victim' is exclusive")


def test_pssf_keeps_the_attacker_on_its_first_hosts():
    """Under pssf a burst of attacker VMs fills the attacker's first host before any other;
    the victims (placed earlier, spread by the empty-host rule) are reached only there."""
    res = vsim.run(
        _scenario(8, [_victims(4, vcpus=4)], [_burst(4, vcpus=4)], scheduler={"policy": "pssf"})
    )
    placed = res.events[res.events.kind == "placed"].set_index("subject")["detail"]
    # victims: v-0 on h-0, then v-1 beside it (same tenant first), v-2 on h-1, v-3 on h-1
    assert placed[["v-0", "v-1", "v-2", "v-3"]].tolist() == ["h-0", "h-0", "h-1", "h-1"]
    # attackers: an empty host (h-2), then its own host again, then h-3
    assert placed[["a-0", "a-1", "a-2", "a-3"]].tolist() == ["h-2", "h-2", "h-3", "h-3"]
    assert res.summary["a_coverage"] == 0.0


# ---------------------------------------------------------------------- property
POLICIES = [
    "first_fit",
    "best_fit",
    "worst_fit",
    "random",
    "round_robin",
    "pssf",
    "random_spread",
    "tenant_cap",
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policy=st.sampled_from(POLICIES),
    levels=st.lists(st.sampled_from(["shared", "exclusive", 0, 1, 2]), min_size=2, max_size=4),
    counts=st.lists(st.integers(1, 6), min_size=4, max_size=4),
    starts=st.lists(st.sampled_from([0, 300, 900]), min_size=4, max_size=4),
    seed=st.integers(0, 1000),
)
def test_isolation_is_never_broken(policy, levels, counts, starts, seed):
    """Over random tenants, levels, sizes, start times, attackers and policies: at every
    sample no host holds a tenant with more other tenants than its level allows (exclusive:
    none), and hosts' recorded tenant counts agree with the guests on them."""
    tenants = [{"name": f"t{i}", "isolation": lv} for i, lv in enumerate(levels)]
    guests = [
        {
            "name": f"g{j}",
            "count": c,
            "vcpus": 1 + j % 3,
            "memory": "2GiB",
            "workload": "w",
            "start": s,
            "tenant": f"t{j % len(levels)}" if j < 3 else None,
        }
        for j, (c, s) in enumerate(zip(counts, starts, strict=True))
    ]
    atk = {
        "name": "a",
        "tenant": "evil",
        "victims": {"tenant": "t0"},
        "strategy": "repeated",
        "k": 3,
        "start": 60,
        "interval": 300,
        "budget": 9,
        "probe": 30,
    }
    data = {
        "name": "prop",
        "seed": seed,
        "duration": "30m",
        "sample_interval": "1m",
        "datacenter": {"host_types": [{**HOST, "count": 6}]},
        "workloads": {"w": {"kind": "constant", "cpu": 0.3}},
        "scheduler": {"policy": policy},
        "tenants": tenants,
        "guests": guests,
        "attacks": [atk],
    }
    res = vsim.run(validate_scenario(data))
    limit = {
        f"t{i}": np.inf if lv == "shared" else 0 if lv == "exclusive" else lv
        for i, lv in enumerate(levels)
    }
    limit.update({"": np.inf, "evil": np.inf})
    g = res.guests[res.guests.host.notna() & res.guests.state.isin(["booting", "running"])]
    tenant_of = {f"g{j}": (f"t{j % len(levels)}" if j < 3 else "") for j in range(4)}
    tenant_of["a"] = "evil"
    group = g.guest.astype(str).str.rsplit("-", n=1).str[0]
    g = g.assign(tenant=group.map(tenant_of))
    for (_, host), rows in g.groupby(["time_s", "host"], observed=True):
        present = set(rows.tenant)
        for t in present:
            assert len(present) - 1 <= limit[t], (policy, host, present)


def test_migration_to_a_host_isolation_forbids_is_refused():
    """A lifecycle migration of a shared VM onto an exclusive tenant's host is refused with
    the isolation reason; onto an empty host it goes."""
    guests = [
        {"name": "b", "memory": "1GiB", "workload": "w", "tenant": "victim"},
        {"name": "x", "count": 2, "memory": "1GiB", "workload": "w", "host": "h-2"},
    ]
    events = [
        {"at": 600, "action": "migrate", "guest": "x-0", "to": "h-0"},
        {"at": 600, "action": "migrate", "guest": "x-1", "to": "h-1"},
    ]
    sc = _scenario(3, guests, [], events=events)
    data = sc.model_dump(exclude_unset=True)
    data["tenants"][0]["isolation"] = "exclusive"
    res = vsim.run(validate_scenario(data))
    refused = res.events[res.events.kind == "migration_refused"]
    assert refused.subject.tolist() == ["x-0"]
    assert refused.detail.iloc[0].startswith("isolation:")
    assert res.migrations.guest.astype(str).tolist() == ["x-1"]


def test_unknown_tenant_is_a_clear_error():
    with pytest.raises(ValueError, match=r"guests\[0\] \(v\)\.tenant: 'nobody' is not listed"):
        _scenario(2, [_victims(1, tenant="nobody")], [])


def test_consolidation_plans_only_moves_isolation_allows():
    """The consolidation example with its web VMs as an exclusive tenant, the jobs shared:
    PABFD and evacuation choose only allowed targets (no migration is refused for isolation),
    and no sample shows a web VM's host holding a job."""
    from vsim.scenario import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "consolidation.yaml")
    data = sc.model_dump(by_alias=True, exclude_unset=True)
    data["tenants"] = [{"name": "web", "isolation": "exclusive"}]
    data["guests"][0]["tenant"] = "web"
    data["duration"] = 6 * 3600.0
    res = vsim.run(validate_scenario(data))
    assert len(res.migrations) > 0
    refused = res.events[res.events.kind == "migration_refused"]
    assert not refused.detail.str.startswith("isolation").any()
    g = res.guests[res.guests.state.isin(["running", "booting", "paused"])]
    group = g.guest.astype(str).str.rsplit("-", n=1).str[0]
    mixed = g.assign(group=group).groupby(["time_s", "host"], observed=True)["group"].nunique()
    assert mixed.max() == 1


def test_tenant_cap_and_random_spread_by_hand():
    """tenant_cap 2, best fit among allowed hosts: victim and evil VMs share h-0 (the fullest
    with room); a third tenant's VM must open h-1. random_spread with tenant_spread 1: after
    its first (random) host, every VM of the tenant joins it while it has room."""
    guests = [
        {"name": "p", "memory": "1GiB", "workload": "w", "tenant": "victim"},
        {"name": "q", "memory": "1GiB", "workload": "w", "tenant": "evil", "start": 10},
        {"name": "r", "memory": "1GiB", "workload": "w", "start": 20},
    ]
    res = vsim.run(_scenario(3, guests, [], scheduler={"policy": "tenant_cap", "tenant_cap": 2}))
    placed = res.events[res.events.kind == "placed"].set_index("subject")["detail"]
    assert placed[["p", "q", "r"]].tolist() == ["h-0", "h-0", "h-1"]
    spread = {"policy": "random_spread", "tenant_spread": 1}
    for seed in range(5):
        sc = _scenario(6, [_victims(5)], [], scheduler=spread, seed=seed)
        events = vsim.run(sc).events
        assert events[events.kind == "placed"]["detail"].nunique() == 1
