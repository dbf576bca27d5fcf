"""Co-residency attackers and the tenants' summary (the controller named ``tenants``).

Each attack of the scenario launches its VMs (its guest group, started by the attack rather
than at start) through the engine's ``start_guests``, so that the scenario's placement policy
and the tenants' isolation decide where they land, and stops the ones a repeated strategy does
not keep. Co-residency is watched exactly: it can only change when guests are placed, stop,
go down or finish a migration, and the controller re-evaluates it on each of those signals,
integrating the co-resident victims and the attacker's VMs on hosts in between.

Metrics, per attack (after Han et al., "Using virtual machine allocation policies to defend
against co-resident attacks in cloud computing", IEEE TDSC 2017):

- ``coverage``: the fraction of victims that were ever co-resident with an attacker VM;
- ``efficiency``: the fraction of the attacker's placed VMs that were ever co-resident with a
  victim;
- ``time_to_coresidency_s``: from the first launch to the first co-residency (NaN: never);
- ``coresident_victim_s``: victim-seconds spent co-resident with an attacker VM;
- ``vm_hours`` and ``launches``: what the attack cost (VM-hours on hosts, VMs launched).

The summary adds, for the whole run, the distinct tenants per used host (mean and max over
samples, counted at each sample's end), the hosts used (holding any guest at a sample's end)
and the energy those used hosts drew.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vsim.model import guests as gs
from vsim.model.hosts import HOST_ON

COLUMNS = ("time_s", "attack", "victims_now", "coverage", "attacker_vms")


class _Attack:
    """One attack's VMs, victims and running measurements."""

    def __init__(self, engine, spec, group: int):
        self.spec, self.engine = spec, engine
        g = engine.guests
        self.vms = np.flatnonzero(g.group == group)
        self.next = 0  # the next unlaunched VM
        names = engine.tenancy.names
        v = spec.victims
        if v.tenant is not None:
            self.victims = np.flatnonzero(engine.tenancy.of == names.index(v.tenant))
        else:
            index = {n: i for i, n in enumerate(g.names)}
            self.victims = np.array([index[n] for n in v.guests], dtype=np.int64)
        rack = engine.fabric.rack_of
        self.where = rack if spec.level == "rack" else np.arange(len(rack))
        self.now = np.zeros(len(self.victims), dtype=bool)  # co-resident now
        self.ever = np.zeros(len(self.victims), dtype=bool)
        self.hit = np.zeros(len(self.vms), dtype=bool)  # attacker VMs ever co-resident
        self.placed = np.zeros(len(self.vms), dtype=bool)
        self.t_last, self.first_launch, self.first = 0.0, np.nan, np.nan
        self.victim_s = self.vm_s = self.n_on = 0.0
        self.rows: list[tuple] = []

    def holding(self, idx: np.ndarray) -> np.ndarray:
        g = self.engine.guests
        return gs.HOLDS_HOST[g.state[idx]] & (g.host[idx] >= 0)

    def attacker_on(self) -> np.ndarray:
        """bool over this attack's VMs: on a host now."""
        return self.holding(self.vms)

    def update(self, now: float) -> None:
        """Integrate up to ``now``, then re-evaluate who is co-resident with whom."""
        g, dt = self.engine.guests, now - self.t_last
        self.victim_s += float(np.count_nonzero(self.now)) * dt  # (as they were until now)
        self.vm_s += self.n_on * dt
        self.t_last = now
        on = self.attacker_on()
        self.n_on = float(np.count_nonzero(on))
        v_on = self.holding(self.victims)
        a_loc = self.where[g.host[self.vms[on]]]
        v_loc = self.where[g.host[self.victims[v_on]]]
        self.now = np.zeros(len(self.victims), dtype=bool)
        self.now[v_on] = np.isin(v_loc, a_loc)
        self.ever |= self.now
        self.placed |= on
        self.hit[on] |= np.isin(a_loc, v_loc)
        if np.isnan(self.first) and self.now.any():
            self.first = now
        row = (now, self.spec.name, int(self.now.sum()), self.coverage(), int(on.sum()))
        if not self.rows or self.rows[-1][2:] != row[2:]:
            self.rows.append(row)

    def coverage(self) -> float:
        return float(self.ever.mean()) if len(self.victims) else 0.0

    def launch(self, n: int) -> np.ndarray:
        """Launch the next ``n`` VMs (those without room are rejected); returns them."""
        e = self.engine
        idx = self.vms[self.next : self.next + n]
        self.next += len(idx)
        if np.isnan(self.first_launch):
            self.first_launch = e.now
        e.settle()
        e.count_event()
        e.start_guests(idx)
        e.resolve.everything()
        return idx

    def summary(self) -> dict[str, float]:
        s, placed = self.spec.name, int(self.placed.sum())
        return {
            f"{s}_coverage": self.coverage(),
            f"{s}_efficiency": float(self.hit.sum()) / placed if placed else 0.0,
            f"{s}_time_to_coresidency_s": self.first - self.first_launch,
            f"{s}_coresident_victim_s": self.victim_s,
            f"{s}_vm_hours": self.vm_s / 3600.0,
            f"{s}_launches": self.next,
            f"{s}_launches_rejected": self.next - placed,
        }


class Tenants:
    """The attacks of a scenario and the tenants' summary."""

    name = "tenants"

    def __init__(self, engine):
        self.engine = engine
        sc = engine.scenario
        groups = {gr.attack: k for k, gr in enumerate(sc.guests) if gr.attack}
        self.attacks = [_Attack(engine, a, groups[a.name]) for a in sc.attacks]
        sig = engine.signals
        for signal in (sig.guests_placed, sig.guests_stopped, sig.guests_down):
            signal.connect(self._changed)
        sig.migration_finished.connect(self._changed)
        for a in self.attacks:
            run = self._burst if a.spec.strategy == "burst" else self._repeated
            engine.env.process(run(a))

    def _changed(self, *_: object) -> None:
        for a in self.attacks:
            a.update(self.engine.now)

    def _burst(self, a: _Attack):
        env = self.engine.env
        for t in sorted(a.spec.at):
            yield env.timeout(t - env.now)
            a.launch(a.spec.k)

    def _repeated(self, a: _Attack):
        """Rounds: launch k, wait ``probe``, stop those beside no victim; until the budget is
        spent or every victim is covered."""
        env, spec = self.engine.env, a.spec
        rounds = 0
        yield env.timeout(spec.start)
        while a.next < len(a.vms) and not (len(a.victims) and a.now.all()):
            batch = a.launch(min(spec.k, len(a.vms) - a.next))
            yield env.timeout(spec.probe)
            self._stop_useless(a, batch)
            rounds += 1
            yield env.timeout(max(spec.start + rounds * spec.interval - env.now, 0.0))

    def _stop_useless(self, a: _Attack, batch: np.ndarray) -> None:
        e, g = self.engine, self.engine.guests
        a.update(e.now)
        on = batch[a.holding(batch)]
        v = a.victims[a.holding(a.victims)]
        useless = on[~np.isin(a.where[g.host[on]], a.where[g.host[v]])]
        if len(useless):
            e.settle()
            e.count_event()
            e.stop(useless)
            e.resolve.everything()

    # ------------------------------------------------------------------ results
    def finish(self) -> None:
        """Integrate every attack up to the end of the run."""
        for a in self.attacks:
            a.update(float(self.engine.scenario.duration))

    def frame(self) -> pd.DataFrame:
        """The co-residency timeline: one row per change of each attack's state."""
        self.finish()
        rows = [r for a in self.attacks for r in a.rows]
        return pd.DataFrame(rows, columns=list(COLUMNS))

    def summary(self) -> dict[str, float]:
        self.finish()
        out: dict[str, float] = {}
        for a in self.attacks:
            out.update(a.summary())
        out.update(host_summary(self.engine))
        if self.attacks:
            out["coverage_max"] = max(a.coverage() for a in self.attacks)
            out["attack_vm_hours"] = sum(a.vm_s for a in self.attacks) / 3600.0
        return out


def host_summary(engine) -> dict[str, float]:
    """Tenants per used host (mean and max over samples), hosts used, their energy."""
    rec = engine.recorder
    tenants = rec.host["tenants"]
    used = (tenants > 0) & (rec.host_state == HOST_ON)
    span = np.diff(np.concatenate([[0.0], rec.times]))[:, None]
    n_used = used.sum(axis=1)
    return {
        "tenants_per_used_host_mean": float(tenants[used].mean()) if used.any() else 0.0,
        "tenants_per_host_max": int(tenants.max()) if tenants.size else 0,
        "hosts_shared_frac": float((tenants[used] > 1).mean()) if used.any() else 0.0,
        "hosts_used_mean": float((n_used * span[:, 0]).sum() / rec.times[-1]),
        "hosts_used_max": int(n_used.max()) if n_used.size else 0,
        "used_hosts_energy_kwh": float((rec.host["power_w"] * span * used).sum() / 3.6e6),
    }
