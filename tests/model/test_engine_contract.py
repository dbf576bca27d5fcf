"""The engine's contract: what a controller can rely on, tried by controllers that use nothing
else, and the counts and streams the engine promises."""

from __future__ import annotations

import numpy as np
import pytest

import vsim
from tests.helpers import host, scenario, vm
from vsim.model import guests as gs
from vsim.model.build import build_simulation
from vsim.model.hosts import HOST_ON
from vsim.model.streams import STREAM_KEYS, RandomStreams

IDLE_S = 600.0  # the toy controller switches off a host idle this long


class IdleHostsOff:
    """Switch off any host that has been on and idle (no guest on it, no CPU in use, no
    migration touching it) for 10 minutes. Written only against the engine's contract."""

    name = "idle_hosts_off"

    def __init__(self, engine, check_every: float = 60.0):
        self.engine = engine
        self.check_every = check_every
        self.idle_since = np.full(engine.hosts.n, np.nan)
        self.switched_off: list[tuple[float, str]] = []
        engine.env.process(self._loop())

    def _idle(self) -> np.ndarray:
        e = self.engine
        holds = gs.HOLDS_HOST[e.guests.state] & (e.guests.host >= 0)
        occupied = np.zeros(e.hosts.n, dtype=bool)
        occupied[e.guests.host[holds]] = True
        touched = np.array([e.transfers.touches(h) for h in range(e.hosts.n)], dtype=bool)
        on = e.hosts.state == HOST_ON
        return on & ~occupied & ~touched & (e.host_rate["cpu"] == 0)

    def _loop(self):
        e = self.engine
        while True:
            yield e.env.timeout(self.check_every)
            idle = self._idle()
            now = e.now
            self.idle_since[~idle] = np.nan
            self.idle_since[idle & np.isnan(self.idle_since)] = now
            for h in np.flatnonzero(idle & (now - self.idle_since >= IDLE_S)):
                if e.switch_off(int(h)):
                    self.switched_off.append((now, str(e.hosts.names[h])))

    def summary(self) -> dict:
        return {"idle_hosts_switched_off": len(self.switched_off)}


def _three_hosts(**kw):
    # first_fit puts both VMs on h-0; h-1 and h-2 stay empty. The VMs stop at 20 min.
    return scenario(
        [host(count=3, cores=4)],
        [vm("web", "busy", count=2, stop=1200)],
        {"busy": {"kind": "constant", "cpu": 0.5}},
        duration=3600,
        sample_interval=60,
        scheduler={"policy": "first_fit"},
        **kw,
    )


def test_toy_controller_switches_off_hosts_idle_for_ten_minutes():
    sc = _three_hosts()
    made = []

    def factory(engine):
        made.append(IdleHostsOff(engine))
        return made[-1]

    res = vsim.run(sc, controllers=[factory])
    (ctl,) = made
    # The empty hosts are idle from the first check (60 s): off at the check 600 s later. h-0
    # empties at 1200 s, is seen idle by the check of that instant (the scenario's stops were
    # scheduled first, so they come first) and goes off at 1800 s.
    assert ctl.switched_off == [(660.0, "h-1"), (660.0, "h-2"), (1800.0, "h-0")]
    assert res.summary["idle_hosts_switched_off"] == 3
    offs = res.events[res.events.kind == "host_off"]
    assert list(offs.subject) == ["h-1", "h-2", "h-0"]
    # An off host draws nothing: each one off for its last (3600 - t) s saves its idle power.
    base = vsim.run(sc)
    idle_w = base.hosts[(base.hosts.host == "h-1")].power_w.iloc[0]
    saved_j = idle_w * ((3600 - 660) * 2 + (3600 - 1800))
    assert base.summary["energy_kwh"] - res.summary["energy_kwh"] == pytest.approx(
        saved_j / 3.6e6, rel=1e-9
    )


def test_signals_tell_a_controller_which_guests_went_down_or_stopped():
    sc = _three_hosts()
    engine = build_simulation(sc)
    seen = []
    engine.signals.guests_down.connect(lambda idx: seen.append(("down", list(idx))))
    engine.signals.guests_stopped.connect(lambda idx: seen.append(("stopped", list(idx))))
    engine.env.timeout(300).callbacks.append(lambda _e: engine.fail_host(0, "test"))
    engine.run()
    # Both VMs were on h-0 when it failed; nothing was running to stop at 1200 s.
    assert seen == [("down", [0, 1])]


def test_placement_limits_come_back_exactly_even_after_an_error():
    engine = build_simulation(_three_hosts())
    before = {r: engine.placement_capacity(r) for r in ("cpu", "memory")}
    with pytest.raises(RuntimeError):
        with engine.placement_limits({"cpu": np.inf, "memory": before["memory"] * 3}):
            assert np.isinf(engine.placement_capacity("cpu")).all()
            raise RuntimeError("a controller failed inside the block")
    for r, cap in before.items():
        assert engine.placement_capacity(r).tobytes() == cap.tobytes()


def test_read_only_views_refuse_writes():
    engine = build_simulation(_three_hosts())
    with pytest.raises(ValueError):
        engine.cpu_request[0] = 1.0
    with pytest.raises(ValueError):
        engine.guests.host[0] = 2


def test_merged_executions_count_as_executions_not_as_events():
    """A job with work in one phase runs its repeats back to back as one phase: one event
    ends them all. ``events`` counts that one event; ``job_executions`` counts every run."""

    def run(repeat: int):
        sc = scenario(
            [host(cores=1)],
            [vm("j", "job")],
            {"job": {"kind": "batch", "cpu_work": 1000, "repeat": repeat}},
            duration=60,
            sample_interval=60,
        )
        return vsim.run(sc).summary

    once, five = run(1), run(5)
    assert (once["job_executions"], five["job_executions"]) == (1, 5)
    assert five["events"] == once["events"]
    # 1000 MI per execution at 1000 MIPS: the five end together at 5 s.
    assert five["job_time_s_mean"] == pytest.approx(5.0)


def test_named_streams_keep_the_spawn_keys_of_earlier_releases():
    streams = RandomStreams(42)
    children = np.random.SeedSequence(42).spawn(4)
    for name, k in (("placement", 0), ("workloads", 1), ("services", 2), ("consolidation", 3)):
        assert STREAM_KEYS[name] == (k,)
        a = streams.generator(name).integers(0, 2**63, 4)
        b = np.random.default_rng(children[k]).integers(0, 2**63, 4)
        assert (a == b).all(), name
    with pytest.raises(KeyError, match="no random stream named 'placment'"):
        streams.generator("placment")
