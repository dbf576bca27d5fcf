"""The metrics of dynamic consolidation, as defined by Beloglazov & Buyya, "Optimal online
deterministic algorithms and adaptive heuristics for energy and performance efficient dynamic
consolidation of virtual machines in cloud data centers", CCPE 24(13):1397-1420, 2012,
Section 6.2 ("Performance metrics"):

- SLATAH, SLA violation Time per Active Host: ``(1/N) sum_i T_si / T_ai`` over the N hosts,
  ``T_si`` the time host i experienced 100 % CPU utilization, ``T_ai`` the time it was active.
- PDM, Performance Degradation due to Migrations: ``(1/M) sum_j C_dj / C_rj`` over the M VMs,
  ``C_dj`` the estimated degradation of VM j caused by migrations (10 % of its CPU utilization
  in MIPS during its migrations, the figure of Voorsluys et al., CloudCom 2009), ``C_rj`` the
  total CPU capacity (MIPS x time) VM j requested during its lifetime.
- SLAV = SLATAH x PDM, and ESV = E x SLAV with E the energy consumed (kWh here).

Hosts that were never active and VMs that never requested CPU are left out of the averages.
Under the ``cloudsim`` profile SLATAH and PDM follow CloudSim 4.0's code instead (:func:`pooled`):
totals over hosts and VMs, and a host violates its SLA while any VM on it gets less CPU than it
requests or a migration is coming to it.
vsim measures ``C_dj`` as the useful CPU the migration actually took from the VM (the
``migration.degradation`` share while pre-copied, all of its demand while paused for the
stop-and-copy), integrated exactly between events by the engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vsim.core.detectors import power_at


def slatah(time_full: np.ndarray, time_active: np.ndarray) -> float:
    """Mean over hosts that were active of the share of active time at 100 % CPU."""
    time_full = np.asarray(time_full, dtype=np.float64)
    time_active = np.asarray(time_active, dtype=np.float64)
    act = time_active > 0
    return float(np.mean(time_full[act] / time_active[act])) if act.any() else 0.0


def pdm(cpu_lost: np.ndarray, cpu_requested: np.ndarray) -> float:
    """Mean over VMs that requested CPU of the share of it lost to migrations."""
    cpu_lost = np.asarray(cpu_lost, dtype=np.float64)
    cpu_requested = np.asarray(cpu_requested, dtype=np.float64)
    req = cpu_requested > 0
    return float(np.mean(cpu_lost[req] / cpu_requested[req])) if req.any() else 0.0


def pooled(part: np.ndarray, whole: np.ndarray) -> float:
    """``sum(part) / sum(whole)``: SLATAH and PDM as CloudSim 4.0 computes them (total SLA
    violation time over total active time, total CPU lost to migrations over total CPU
    requested; ``Helper.getSlaTimePerActiveHost`` and ``getSlaMetrics``), 0 if nothing."""
    total = float(np.sum(whole))
    return float(np.sum(part)) / total if total > 0 else 0.0


def energy_kwh_cloudsim(
    times: np.ndarray, util: np.ndarray, tables: np.ndarray, *, power_aware: bool = True
) -> float:
    """Energy as CloudSim 4.0 accounts it, from utilization sampled at ``times`` (float64[K])
    for every host (``util`` float64[K, H], tables float64[H, 11]).

    Each interval between two samples costs the mean of the power at its two ends times its
    length, except that an interval starting at 0 % utilization costs nothing (the host counts
    as switched off; ``PowerHost.getEnergyLinearInterpolation``); the power at an end at 0 % is
    the table's idle power. The first interval costs nothing either: at CloudSim's first update
    every host's previous utilization is still 0. The time after the last sample is not counted
    (CloudSim's last update is one interval before the end of the run). Without ``power_aware``
    (NPA, ``PowerDatacenterNonPowerAware``) every host draws its peak power throughout, the
    first interval included."""
    times = np.asarray(times, dtype=np.float64)
    if len(times) < 2:
        return 0.0
    util = np.clip(np.asarray(util, dtype=np.float64), 0.0, 1.0)
    tables = np.asarray(tables, dtype=np.float64)
    dt = np.diff(times)
    if not power_aware:
        return float(tables[:, -1].sum() * dt.sum() / 3.6e6)
    p = power_at(util, tables)
    mean = np.where(util[:-1] > 0, 0.5 * (p[:-1] + p[1:]), 0.0)
    joules = (mean[1:].sum(axis=1) * dt[1:]).sum()
    return float(joules / 3.6e6)


def consolidation_summary(c: Any) -> dict[str, float]:
    """Summary columns of the consolidation controller ``c`` (its engine is ``c.sim``)."""
    sim = c.sim
    energy = float(sim.total["power"] / 3.6e6)
    is_vm = (sim.guests.parent < 0) & (sim.guests.kind == 0)
    # The engine integrates these exactly: host time on (under the CloudSim profile a host at
    # 0 % counts as off) and at 100 % CPU; per VM, CPU demanded, CPU a migration took, and CPU
    # wanted while paused for a stop-and-copy (demanded and lost alike).
    hosts, guests = sim.host_rates.cum, sim.guest_rates.cum
    paused = guests["cpu_paused_want_mips"]
    lost = (guests["cpu_migration_loss_mips"] + paused)[is_vm]
    wanted = (guests["cpu_demand_mips"] + paused)[is_vm]
    if c.cloudsim:
        # CloudSim's definitions: a host violates its SLA while a VM on it gets less CPU than
        # it requests or a migration is coming to it (the incoming VM is allocated 10 % of its
        # request); a host at 0 % counts as off; both ratios are pooled.
        s = pooled(hosts["short"], hosts["on_busy"])
        d = pooled(lost, wanted)
    else:
        s = slatah(hosts["saturated"], hosts["on"])
        d = pdm(lost, wanted)
    e_cs = energy_kwh_cloudsim(
        np.array(c.tick_times),
        np.array(c.tick_util),
        c.power.tables,
        power_aware=c.cfg.power_aware,
    )
    return {
        "slatah": s,
        "pdm": d,
        "slav": s * d,
        "esv": energy * s * d,
        "energy_kwh_cloudsim": e_cs,
        "consolidation_rounds": c.rounds,
        "hosts_switched_off": c.switch_offs,
        "hosts_switched_on": c.switch_ons,
        "vms_deleted": c.removed,  # cloudsim profile: VMs whose request fell to 0
    }
