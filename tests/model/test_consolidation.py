"""Dynamic consolidation on small clusters whose outcome is computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import vsim
from vsim.core.detectors import iqr, overloaded, upper_threshold
from vsim.metrics.consolidation import energy_kwh_cloudsim, pdm, pooled, slatah
from vsim.scenario import validate_scenario

GIB = 2**30
NIC = 125e6  # 1 Gbps in bytes/s


def linear(idle, peak):
    return {"model": "linear", "idle_w": idle, "peak_w": peak}


def host_type(name, count=1, power=None, **kw):
    return {
        "name": name,
        "count": count,
        "cores": 2,
        "core_mips": 1000,
        "memory": "16GiB",
        "nic_bandwidth": "1Gbps",
        "power": power or linear(100, 200),
        **kw,
    }


def vm(name, workload, host, vcpus=1, memory="1GiB", **kw):
    return {
        "name": name,
        "vcpus": vcpus,
        "vcpu_mips": 1000,
        "memory": memory,
        "workload": workload,
        "host": host,
        "boot_time": 0,
        **kw,
    }


def scenario(hosts, guests, workloads, consolidation, duration=600, **kw):
    return validate_scenario(
        {
            "duration": duration,
            "sample_interval": 300,
            "datacenter": {"host_types": hosts},
            "guests": guests,
            "workloads": workloads,
            "migration": {"cpu_cost_cores": 0, "device_state": 0},
            # Migration times below are hand-computed at the NICs' nominal rate.
            "network": {"model": "ideal"},
            "consolidation": consolidation,
            **kw,
        }
    )


def cpu(u):
    return {"kind": "constant", "cpu": u}


def test_thr_mmt_picks_smallest_ram_vm_and_pabfd_host():
    # a-0 runs two 900-MIPS VMs: 1800 / 2000 = 0.9 > 0.8, overloaded. MMT takes the one with
    # the least RAM ("small", 1 GiB); the host is then at 0.45 and no longer overloaded.
    # Destinations b-0 and c-0 each run a 500-MIPS VM; with "small" both reach 0.7 <= 0.8.
    # Power increase of 900 MIPS on 2000: b (100 -> 300 W) 200 x 0.45 = 90 W, c (100 -> 150 W)
    # 50 x 0.45 = 22.5 W, so PABFD picks c-0.
    sc = scenario(
        [
            host_type("a"),
            host_type("b", power=linear(100, 300)),
            host_type("c", power=linear(100, 150)),
        ],
        [
            vm("big", "hot", "a-0", memory="2GiB"),
            vm("small", "hot", "a-0", memory="1GiB"),
            vm("x", "half", "b-0"),
            vm("y", "half", "c-0"),
        ],
        {"hot": cpu(0.9), "half": cpu(0.5)},
        {"detector": "thr", "param": 0.8, "selection": "mmt", "underload": False},
    )
    res = vsim.run(sc)
    m = res.migrations
    assert list(m.guest) == ["small"]
    assert (m.src.iloc[0], m.dst.iloc[0], m.start_s.iloc[0]) == ("a-0", "c-0", 300.0)
    # Uncontended pre-copy of 1 GiB at 1 Gbps with nothing dirtied and no device state.
    assert m.end_s.iloc[0] - m.start_s.iloc[0] == pytest.approx(GIB / NIC)


def test_underload_evacuation_switches_host_off_and_saves_idle_power():
    # Two hosts at 0.1 each (200 MIPS of 2000). The least utilized (ties: lowest index, h-0) is
    # evacuated to h-1 (0.2 <= 0.8) and switched off when its VM has left. With linear power
    # the dynamic part is unchanged by moving load, so energy drops by exactly the idle power
    # (100 W) times the time h-0 spends off.
    hosts = [host_type("h", count=2)]
    guests = [vm("v0", "w", "h-0"), vm("v1", "w", "h-1")]
    wl = {"w": cpu(0.2)}
    cons = scenario(hosts, guests, wl, {"detector": "thr", "underload": True}, duration=900)
    base = scenario(hosts, guests, wl, {"detector": "none"}, duration=900)
    r1, r0 = vsim.run(cons), vsim.run(base)
    m = r1.migrations
    assert list(zip(m.guest, m.src, m.dst, strict=True)) == [("v0", "h-0", "h-1")]
    t_off = m.end_s.iloc[0]
    assert t_off == pytest.approx(300 + GIB / NIC)
    ev = r1.events
    off = ev[(ev.kind == "host_off") & (ev.subject == "h-0")]
    assert off.time_s.tolist() == [pytest.approx(t_off)]
    saved_j = (r0.summary.energy_kwh - r1.summary.energy_kwh) * 3.6e6
    assert saved_j == pytest.approx(100.0 * (900 - t_off), rel=1e-9)
    assert r1.summary.hosts_switched_off == 1


SPEC = [86.0, 89.4, 92.6, 96.0, 99.5, 102.0, 106.0, 108.0, 112.0, 114.0, 117.0]  # ML110 G4


def test_npa_versus_dvfs_energy_by_hand():
    # One VM at 0.5 of one 1000-MIPS vCPU on h-0 (utilization 500 / 2000 = 0.25), h-1 empty.
    # NPA: both hosts at peak (117 W) all the time. DVFS: h-0 at P(0.25) = 92.6 + 0.5 x (96.0 -
    # 92.6) = 94.3 W, h-1 switched off at time 0 (0 W).
    hosts = [host_type("h", count=2, power={"model": "specpower", "table": SPEC})]
    guests = [vm("v", "w", "h-0")]
    wl = {"w": cpu(0.5)}
    npa = {"detector": "none", "power_aware": False, "switch_off_idle": False, "underload": False}
    dvfs = {"detector": "none", "underload": False}
    d = 3600.0
    e_npa = vsim.run(scenario(hosts, guests, wl, npa, duration=d)).summary
    e_dvfs = vsim.run(scenario(hosts, guests, wl, dvfs, duration=d)).summary
    assert e_npa.energy_kwh == pytest.approx(2 * 117.0 * d / 3.6e6)
    assert e_dvfs.energy_kwh == pytest.approx(94.3 * d / 3.6e6)
    # CloudSim's accounting stops at the last consolidation round (3300 s), as CloudSim does;
    # its power-aware datacenter also counts nothing for the first interval (every host's
    # previous utilization is 0 at its first update): 300 to 3300 s.
    assert e_npa.energy_kwh_cloudsim == pytest.approx(2 * 117.0 * 3300 / 3.6e6)
    assert e_dvfs.energy_kwh_cloudsim == pytest.approx(94.3 * 3000 / 3.6e6)


def test_slatah_and_pdm_on_a_constructed_case():
    # h-0: "a" (500 MIPS) and "hog" (2 vCPUs at 100 %, 2000 MIPS) want 2500 of 2000 MIPS until
    # the hog stops at 200 s: h-0 is at 100 % for 200 of its 600 active seconds; h-1 and h-2
    # never are. SLATAH = (200/600 + 0 + 0) / 3 = 1/9.
    # "m" (500 MIPS, 1 GiB) is migrated h-1 -> h-2 at 100 s: pre-copy of 1 GiB at 1 Gbps takes
    # T = 2^30 / 125e6 s, during which it loses 10 % of its CPU: C_d = 0.1 x 500 x T, C_r = 500 x
    # 600. The other three VMs lose nothing: PDM = (0.1 T / 600) / 4.
    sc = scenario(
        [host_type("h", count=3)],
        [
            vm("a", "half", "h-0"),
            vm("hog", "full", "h-0", vcpus=2, stop=200),
            vm("b", "half", "h-1"),
            vm("m", "half", "h-1"),
        ],
        {"half": cpu(0.5), "full": cpu(1.0)},
        {"detector": "none", "switch_off_idle": False, "underload": False},
        events=[{"at": 100, "action": "migrate", "guest": "m", "to": "h-2"}],
        scheduler={"overcommit": {"cpu": 2}},  # the hog and "a" reserve 3000 of 2000 MIPS
    )
    s = vsim.run(sc).summary
    t = GIB / NIC
    assert s.slatah == pytest.approx(1 / 9)
    assert s.pdm == pytest.approx(0.1 * t / 600 / 4)
    assert s.slav == pytest.approx(s.slatah * s.pdm)
    assert s.esv == pytest.approx(s.energy_kwh * s.slav)


def test_metric_functions_by_hand():
    assert slatah([10, 0, 5], [100, 0, 50]) == pytest.approx(0.1)  # host 1 never active
    assert pdm([1, 0], [10, 20]) == pytest.approx(0.05)
    assert pooled([1, 0], [10, 20]) == pytest.approx(1 / 30)
    # One host, table 10..110 W in 10 W steps: u = 0.5, 0.5, 0, 0.5 at 0, 100, 200, 300 s.
    # CloudSim counts nothing for the first interval, (60 + 10) / 2 x 100 = 3500 J for the
    # second (an end at 0 % draws idle power), and nothing for the third (it starts at 0 %).
    table = [[10.0 + 10.0 * k for k in range(11)]]
    e = energy_kwh_cloudsim([0, 100, 200, 300], [[0.5], [0.5], [0.0], [0.5]], table)
    assert e == pytest.approx(3500 / 3.6e6)


def _adaptive(selection):
    hosts = [host_type("g", count=6, power={"model": "specpower", "table": SPEC})]
    guests = [
        {
            "name": "v",
            "count": 8,
            "vcpus": 1,
            "vcpu_mips": 1000,
            "memory": "1GiB",
            "workload": "walk",
            "boot_time": 0,
        }
    ]
    wl = {"walk": {"kind": "random_walk", "start": 0.4, "sigma": 0.2, "step": "5m"}}
    cons = {"detector": "lr", "selection": selection, "min_history": 3, "history_length": 5}
    return scenario(hosts, guests, wl, cons, duration=3 * 3600, seed=7, sample_interval=3600)


@pytest.mark.parametrize("selection", ["mmt", "rs", "mc", "mu"])
def test_deterministic(selection):
    a, b = vsim.run(_adaptive(selection)), vsim.run(_adaptive(selection))
    cols = ["energy_kwh", "migrations", "slatah", "pdm", "energy_kwh_cloudsim"]
    pd.testing.assert_series_equal(a.summary[cols], b.summary[cols])
    pd.testing.assert_frame_equal(a.migrations, b.migrations)
    assert a.summary.migrations > 0


@pytest.mark.parametrize("detector", ["thr", "iqr", "mad", "lr", "lrr"])
def test_cloudsim_profile_runs_each_detector(detector):
    sc = _adaptive("mmt").model_dump(by_alias=True, exclude_unset=True)
    sc["consolidation"] = {"detector": detector, "profile": "cloudsim", "min_history": 3}
    res = vsim.run(validate_scenario(sc))
    m = res.migrations.dropna()
    assert len(m) > 0
    # CloudSim's migration time: RAM / (half of the 1 Gbps NIC), whatever runs at once.
    assert (m.end_s - m.start_s).tolist() == pytest.approx([GIB / (NIC / 2)] * len(m))
    assert res.summary.energy_kwh_cloudsim > 0


def test_cloudsim_pabfd_measures_increase_from_round_start_power():
    # a-0 (2000 MIPS) runs p, q, r, s at 500 MIPS (RAM 1..4 GiB) and t at 200: 2200 / 2000 =
    # 1.1 > 0.8. MMT takes p (1.1 -> 0.85, still over), then q (-> 0.6). PABFD places p, then q
    # (equal MIPS, lower index first). Candidates: c-0, running 1000 MIPS (0.5), linear
    # 100 -> 260 W, room for one more 500 (1500 <= 1600): increase 160 x 0.25 = 40 W; e-0,
    # empty, linear 100 -> 200 W, whose power CloudSim takes at 0 % from the table (100 W):
    # P(0.25) - P(0) = 25 W. p goes to e-0. For q, CloudSim still measures e-0's increase from
    # its power when the round began: P(0.5) - P(0) = 50 W > 40 W, so q goes to c-0. (Measured
    # from e-0's power with p, 125 W, the increase would be 25 W and q would follow p.)
    sc = validate_scenario(
        {
            "duration": 600,
            "sample_interval": 300,
            "datacenter": {
                "host_types": [
                    host_type("a", memory="32GiB"),
                    host_type("c", power=linear(100, 260)),
                    host_type("e"),
                ]
            },
            "guests": [
                vm("p", "half", "a-0", memory="1GiB"),
                vm("q", "half", "a-0", memory="2GiB"),
                vm("r", "half", "a-0", memory="3GiB"),
                vm("s", "half", "a-0", memory="4GiB"),
                vm("t", "low", "a-0", memory="5GiB"),
                vm("x", "full", "c-0"),
            ],
            "workloads": {"half": cpu(0.5), "low": cpu(0.2), "full": cpu(1.0)},
            "scheduler": {"overcommit": {"cpu": 3}},
            "consolidation": {
                "profile": "cloudsim",
                "detector": "thr",
                "param": 0.8,
                "underload": False,
            },
        }
    )
    m = vsim.run(sc).migrations
    assert sorted(zip(m.guest, m.src, m.dst, strict=True)) == [
        ("p", "a-0", "e-0"),
        ("q", "a-0", "c-0"),
    ]


def test_cloudsim_initial_placement_first_fit_and_per_core_check():
    # 4 hosts alternating G4 (2 x 1860 MIPS), G5 (2 x 2660), 4096 MB; 8 VMs in blocks of 2:
    # 2500/870, 2000/1740, 1000/1740, 500/613. First fit: VMs 0, 1 (2500 > 1860: G5 only) on
    # h1 (5000 <= 5320); VMs 2, 3 (2000 > 1860: G5 only; h1 has 320 left) on h3 (4000, 3480
    # MB); VMs 4, 5 on h0 (2000 MIPS, 3480 MB); VM 6 on h0 (2500 MIPS, 4093 MB); VM 7 needs
    # 613 MB (h0 has 3 left), h1 has 320 MIPS, so h2.
    from vsim.experiments.beloglazov import cloudsim_placement

    assert cloudsim_placement(4, 8, first_fit=True) == [1, 1, 3, 3, 0, 0, 0, 2]
    # Power-aware best fit, every increase measured from idle power (at t = 0 every host's
    # last utilization is 0): VM 0 (2500) on G5 only, h1 and h3 tie, lowest index h1. VM 1:
    # P5(5000/5320) on h1 against P5(2500/5320) on h3: h3. VMs 2, 3 (2000, G5 only) likewise
    # h1 then h3. VMs 4, 5 (1000 MIPS, 1740 MB: no G5 has the RAM left) h0 then h2. VM 6 (500):
    # G4 P4(1500/3720) - 86 = 13.6 W against G5 P5(5000/5320) - 93.7 = 40.1 W: h0. VM 7: h0
    # would reach P4(2000/3720), h2 only P4(1500/3720): h2. The VMs spread over all hosts.
    assert cloudsim_placement(4, 8, first_fit=False) == [1, 3, 1, 3, 0, 2, 0, 2]


def test_underload_pruning_changes_no_decision(monkeypatch):
    # A fleet nearly full in memory (three 1 GiB VMs fill a host): most underloaded hosts cannot
    # be evacuated. The aggregate test (CPU room and memory slots on the other targets) must only
    # spare hopeless trials, never change an outcome: the same run with every host offered to
    # the one-VM-at-a-time trial gives the same migrations, with more placement attempts.
    from vsim.model.consolidation import Consolidator, _Targets

    hosts = [host_type("h", count=12, memory="3.5GiB")]
    guests = [
        {
            "name": "v",
            "count": 28,
            "vcpus": 1,
            "vcpu_mips": 1000,
            "memory": "1GiB",
            "workload": "walk",
            "boot_time": 0,
        }
    ]
    wl = {"walk": {"kind": "random_walk", "start": 0.15, "sigma": 0.05, "step": "5m"}}
    sc = scenario(
        hosts,
        guests,
        wl,
        {"detector": "thr", "param": 0.8},
        duration=6 * 3600,
        seed=3,
        sample_interval=3600,
        scheduler={"policy": "round_robin"},
    )
    attempts = []
    real_best = _Targets.best

    def counted(self, p):
        attempts.append(p)
        return real_best(self, p)

    monkeypatch.setattr(_Targets, "best", counted)
    pruned = vsim.run(sc)
    n_pruned = len(attempts)
    attempts.clear()
    monkeypatch.setattr(Consolidator, "_evacuable", lambda self, vm_host, targets: targets | True)
    full = vsim.run(sc)
    assert len(pruned.migrations) > 0
    pd.testing.assert_frame_equal(pruned.migrations, full.migrations)
    assert n_pruned < len(attempts)


def _planetlab_folder(tmp_path, series):
    folder = tmp_path / "pl"
    folder.mkdir()
    for name, percents in series.items():
        (folder / name).write_text("".join(f"{p}\n" for p in percents))
    return str(folder)


def test_cloudsim_profile_deletes_vms_whose_request_is_zero(tmp_path):
    # CloudSim reads the trace 0.1 s after each sample, interpolating toward the next one, and
    # deletes a VM whose request is then exactly 0: x (50, 0, 0, 30 %) at its first update
    # (300 s: samples 1 and 2 both 0); y (50, 0, 40, 40 %) never (0 + 40 x 0.1 / 300 > 0).
    folder = _planetlab_folder(tmp_path, {"x": [50, 0, 0, 30], "y": [50, 0, 40, 40]})
    sc = scenario(
        [host_type("h", count=2)],
        [vm("x", "pl", "h-0"), vm("y", "pl", "h-1")],
        {"pl": {"kind": "planetlab", "path": folder}},
        {"profile": "cloudsim", "detector": "none", "underload": False},
        duration=1200,
    )
    res = vsim.run(sc)
    ev = res.events
    assert ev[ev.kind == "stopped"][["time_s", "subject"]].values.tolist() == [[300.0, "x"]]
    assert res.summary.vms_deleted == 1
    # y's demand in its second interval is the interpolated 0.1 s value: 1000 x 0.4/3000.
    y = res.guests[res.guests.guest == "y"].set_index("time_s").cpu_demand_mips
    assert y[600.0] == pytest.approx(1000 * 0.4 * 0.1 / 300)


def test_cloudsim_slatah_counts_migration_destinations_and_pools_hosts():
    # CloudSim's SLATAH: while m migrates h-0 -> h-1 (T = 1 GiB / half of 1 Gbps), h-1 counts
    # as violating its SLA (the incoming VM is allocated 10 % of its request); nothing else
    # is short of CPU. Pooled over the two hosts, active all 600 s: T / 1200. PDM pooled: m
    # loses 10 % of its 500 MIPS during T, out of 3 VMs x 500 MIPS x 600 s requested.
    sc = scenario(
        [host_type("h", count=2)],
        [vm("a", "half", "h-0"), vm("m", "half", "h-0"), vm("b", "half", "h-1")],
        {"half": cpu(0.5)},
        {"profile": "cloudsim", "detector": "none", "underload": False},
        events=[{"at": 100, "action": "migrate", "guest": "m", "to": "h-1"}],
    )
    s = vsim.run(sc).summary
    t = GIB / (NIC / 2)
    assert s.migrations == 1
    assert s.slatah == pytest.approx(t / 1200)
    assert s.pdm == pytest.approx(0.1 * 500 * t / (3 * 500 * 600))


def test_cloudsim_moves_a_vm_twice_when_its_new_host_is_evacuated():
    # s-0 runs p (500 MIPS, 1 GiB), q and r (500, 700; 2 GiB): 1700 / 2000 = 0.85 > 0.8. MMT
    # takes p (-> 0.6). PABFD: a-0 (a, 200 MIPS) and b-0 (b, 600) both add 25 W (linear
    # power), the tie goes to the lower index, a-0. Underload, in CloudSim's order of
    # utilization at the last update: a-0 (0.1) first. CloudSim does not exclude the overload
    # phase's destinations here, so a-0's VMs are a and the p it was just given: both fit on
    # b-0 (600 + 500 + 200 = 1300 <= 1600). p is moved twice (s-0 -> a-0 -> b-0), both moves
    # running together and counted; a-0 ends empty and is switched off.
    hosts = [host_type("s"), host_type("a"), host_type("b")]
    guests = [
        vm("p", "p", "s-0", memory="1GiB"),
        vm("q", "q", "s-0", memory="2GiB"),
        vm("r", "r", "s-0", memory="2GiB"),
        vm("a", "a", "a-0", memory="2GiB"),
        vm("b", "b", "b-0", memory="2GiB"),
    ]
    wl = {"p": cpu(0.5), "q": cpu(0.5), "r": cpu(0.7), "a": cpu(0.2), "b": cpu(0.6)}
    sc = scenario(
        hosts,
        guests,
        wl,
        {"profile": "cloudsim", "detector": "thr", "param": 0.8},
        scheduler={"overcommit": {"cpu": 2}},
    )
    res = vsim.run(sc)
    m = res.migrations
    assert list(zip(m.guest, m.src, m.dst, strict=True)) == [
        ("p", "s-0", "a-0"),
        ("p", "a-0", "b-0"),
        ("a", "a-0", "b-0"),
    ]
    assert (m.start_s == 300).all()
    assert res.summary.migrations == 3
    final = res.guests[res.guests.time_s == 600].set_index("guest").host
    assert final["p"] == "b-0" and final["a"] == "b-0"
    ev = res.events
    assert "a-0" in set(ev[ev.kind == "host_off"].subject)


def test_lookalike_hosts_stand_in_for_their_group():
    # PABFD evaluates one host per group of hosts alike in all it reads: the lowest index of
    # each group, a changed host alone, and the next of its group in its place. Checked against
    # the definition after each of 300 random changes, departures and arrivals.
    from vsim.model.consolidation import _Lookalikes

    rng = np.random.default_rng(5)
    n = 60
    keys = rng.integers(0, 4, size=(n, 2)).astype(float)  # few distinct rows: big groups
    members = set(rng.choice(n, size=45, replace=False).tolist())
    look = _Lookalikes(np.array(sorted(members)), keys)
    alone: set[int] = set()  # hosts whose state changed: alike with no other
    for _ in range(300):
        want_first = {}
        for h in sorted(members - alone):
            want_first.setdefault(tuple(keys[h]), h)
        expected = sorted(set(want_first.values()) | (alone & members))
        assert look.hosts.tolist() == expected
        h = int(rng.integers(n))
        what = rng.integers(3)
        if what == 0 and h in members:
            look.changed(h)
            alone.add(h)
        elif what == 1 and h in members:
            look.changed(h, leaves=True)
            members.discard(h)
        elif what == 2 and h not in members:
            look.add(h)
            members.add(h)
            alone.add(h)


def test_manifest_records_the_migration_and_network_the_cloudsim_profile_used(tmp_path):
    written = _adaptive("mmt").model_dump(by_alias=True, exclude_unset=True)
    written["consolidation"] = {"detector": "thr", "profile": "cloudsim", "min_history": 3}
    res = vsim.run(validate_scenario(written), out=tmp_path)
    manifest = vsim.read_result(tmp_path).manifest
    used = manifest["scenario"]["migration"]
    # What the user wrote (cpu_cost_cores 0, device_state 0) is replaced by CloudSim's rules.
    assert used["algorithm"] == "precopy"
    assert used["bandwidth_cap"] == pytest.approx(NIC / 2)
    assert (used["device_state"], used["cpu_cost_cores"]) == (0.0, 0.0)
    assert (used["degradation"], used["dest_cpu_reserve"]) == (0.1, 0.1)
    effect = manifest["in_effect"]
    assert effect["migration"]["reserve_memory"] is False
    assert effect["migration"]["dirty_rate_override"] == 0.0
    assert effect["network"]["contention"] is False
    # Under the default profile the manifest keeps what the scenario says.
    written["consolidation"]["profile"] = "vsim"
    plain = vsim.run(validate_scenario(written))
    assert plain.manifest["scenario"]["migration"]["bandwidth_cap"] is None
    assert plain.manifest["in_effect"]["network"]["contention"] is True
    assert res.summary.migrations > 0


def _iqr_target_case(tmp_path):
    """s-0 runs v (PlanetLab trace 10, 10, 10, 70, 70 % of 1000 MIPS, 1 GiB) and c (500 MIPS,
    2 GiB); t-0 runs w (1000 MIPS); e-0 is empty. 2000 MIPS hosts, IQR 1.5 after 4 samples."""
    folder = _planetlab_folder(tmp_path, {"v": [10, 10, 10, 70, 70]})
    return scenario(
        [
            host_type("s"),
            host_type("t", power=linear(100, 150)),
            host_type("e", power=linear(100, 300)),
        ],
        [
            vm("v", "pl", "s-0", memory="1GiB"),
            vm("c", "half", "s-0", memory="2GiB"),
            vm("w", "full", "t-0"),
        ],
        {"pl": {"kind": "planetlab", "path": folder}, "half": cpu(0.5), "full": cpu(1.0)},
        {"profile": "cloudsim", "detector": "iqr", "param": 1.5, "min_history": 4,
         "underload": False},
        duration=1500,
    )  # fmt: skip


def test_cloudsim_iqr_tests_a_target_with_the_vm_history_added(tmp_path):
    # CloudSim reads v 0.1 s late (10 % -> 10.02 % at 900 s, the next sample being 70 %), so
    # v requests 100, 100, 100.2, 700 MIPS at the rounds of 300..1200 s. Rounds 1-3: under 4
    # samples, the 0.7 fallback; s-0 is at 0.30. Round 4 (1200 s), CloudSim's quartiles of 4
    # samples (ranks round(1.25) = 1, round(3.75) = 4: min and max):
    #   s-0: history (500 + v) / 2000 = 0.30, 0.30, 0.3001, 0.60, IQR 0.30, T_u = 1 - 1.5 x
    #        0.30 = 0.55 < 0.60: overloaded. MMT takes v (1 GiB); s-0 is left constant (T_u 1).
    #   t-0: its own history is 0.5 throughout, IQR 0, T_u 1: the old rule admits v (0.85).
    #        CloudSim creates v on t-0 first: history 0.55, 0.55, 0.5501, 0.85, IQR 0.30,
    #        T_u 0.55 < 0.85: overloaded after allocation, rejected.
    #   e-0: nothing on it, not tested.
    # PABFD: on t-0 v adds 50 x 0.35 = 17.5 W, on e-0 200 x 0.35 = 70 W (from idle). So the old
    # rule sends v to t-0; CloudSim's sends it to e-0.
    m = vsim.run(_iqr_target_case(tmp_path)).migrations
    assert list(zip(m.guest, m.src, m.dst, m.start_s, strict=True)) == [("v", "s-0", "e-0", 1200)]


def test_cloudsim_iqr_target_thresholds_by_hand():
    # The case above in the detector's terms: t-0's history alone has IQR 0 (threshold 1),
    # with v's added IQR 0.30 (threshold 0.55), CloudSim quartiles on 4 samples.
    t_alone = np.array([[0.5, 0.5, 0.5, 0.5]])
    with_v = t_alone + np.array([[100, 100, 100.2, 700]]) / 2000
    n = np.array([4])
    kw = dict(min_history=4, quantile_method="cloudsim")
    assert upper_threshold("iqr", t_alone, n, 1.5, quantile_method="cloudsim") == [1.0]
    assert upper_threshold("iqr", with_v, n, 1.5, quantile_method="cloudsim") == pytest.approx(
        [1 - 1.5 * 0.30]
    )
    assert not overloaded("iqr", t_alone, n, np.array([0.85]), 1.5, **kw)[0]  # the old rule
    assert overloaded("iqr", with_v, n, np.array([0.85]), 1.5, **kw)[0]  # CloudSim's
    # 12 samples (the default wait): ranks round(3.25) = 3 and round(9.75) = 10 of the sorted
    # history, no interpolation: 0.1 .. 1.2 gives Q1 = 0.3, Q3 = 1.0.
    h = np.arange(1, 13)[None, :] / 10
    assert iqr(h, np.array([12]), "cloudsim") == pytest.approx([0.7])


def test_cloudsim_lr_tests_a_target_with_the_vm_on_it(tmp_path):
    # s-0 (4 cores, 4000 MIPS) runs a and b (800 MIPS, 1 and 2 GiB) and c (3 vCPUs, PlanetLab
    # trace 10, 10, 80 % of 3000 MIPS: 300, 300.7, 2400 MIPS read 0.1 s late). LR 1.2 after 3
    # samples, CloudSim's plain least-squares line, one step ahead: through (0, u0), (1, u1),
    # (2, u2) it predicts the mean plus twice the slope (u2 - u0) / 2. At 900 s:
    #   s-0: 0.4 + c / 4000: 0.475, 0.4752, 1.0 -> 0.6501 + 0.525 = 1.175 (x 1.2 >= 1: over);
    #        MMT takes a (-> 0.975, still), then b (-> 0.775, x 1.2 = 0.93 < 1).
    #   t-0 runs w (1000 MIPS): 1.2 x (0.5 + 0.4) = 1.08, rejects both.
    #   e-0 is empty: untested, a goes there. Then b: e-0's history with a's and b's has 3
    #        samples, 1.2 x (0.4 + 0.4) = 0.96 < 1: CloudSim admits b. Testing e-0 as it was
    #        when the round began (no history: the 0.7 fallback, 1600 / 2000 = 0.8 > 0.7)
    #        would reject b, which would stay.
    folder = _planetlab_folder(tmp_path, {"c": [10, 10, 10, 80, 80]})
    big = dict(cores=4, memory="32GiB")
    sc = scenario(
        [host_type("s", **big), host_type("t"), host_type("e")],
        [
            vm("a", "busy", "s-0", memory="1GiB"),
            vm("b", "busy", "s-0", memory="2GiB"),
            vm("c", "pl", "s-0", vcpus=3, memory="3GiB"),
            vm("w", "full", "t-0"),
        ],
        {"busy": cpu(0.8), "full": cpu(1.0), "pl": {"kind": "planetlab", "path": folder}},
        {"profile": "cloudsim", "detector": "lr", "param": 1.2, "min_history": 3,
         "underload": False},
        duration=1200,
        scheduler={"overcommit": {"cpu": 2}},
    )  # fmt: skip
    m = vsim.run(sc).migrations
    assert list(zip(m.guest, m.src, m.dst, m.start_s, strict=True)) == [
        ("a", "s-0", "e-0", 900),
        ("b", "s-0", "e-0", 900),
    ]


def test_mc_r2_cache_changes_no_decision(monkeypatch):
    # MC reuses each host's R^2 while it selects one VM after another off it in a round (the
    # host's VMs and histories unchanged). The same run regressing at every selection must make
    # the same migrations, with more regressions.
    from vsim.core import detectors
    from vsim.model.consolidation import Consolidator

    hosts = [host_type("h", count=8, cores=4, memory="32GiB")]
    guests = [
        {
            "name": "v",
            "count": 30,
            "vcpus": 1,
            "vcpu_mips": 1000,
            "memory": "1GiB",
            "workload": "walk",
            "boot_time": 0,
        }
    ]
    wl = {"walk": {"kind": "random_walk", "start": 0.5, "sigma": 0.15, "step": "5m"}}
    sc = scenario(
        hosts,
        guests,
        wl,
        {"detector": "thr", "param": 0.6, "selection": "mc", "min_history": 3},
        duration=8 * 3600,
        seed=5,
        sample_interval=3600,
    )
    calls = []
    real = detectors.multiple_correlation

    def counted(histories, **kw):
        calls.append(histories.shape)
        return real(histories, **kw)

    monkeypatch.setattr(detectors, "multiple_correlation", counted)
    cached = vsim.run(sc)
    n_cached = len(calls)
    calls.clear()
    monkeypatch.setattr(Consolidator, "mc_cache", False)
    every = vsim.run(sc)
    assert len(cached.migrations) > 0
    pd.testing.assert_frame_equal(cached.migrations, every.migrations)
    same = cached.summary.drop("wall_time_s")
    pd.testing.assert_series_equal(same, every.summary.drop("wall_time_s"))
    assert 0 < n_cached < len(calls)
