"""Policies of one's own: placement, overload detection, VM selection, target placement and
periodic controllers, named in scenarios or registered from Python; decisions by hand, the
general interface against the built-in fast path, and clear errors for bad answers."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import vsim
from tests.helpers import host, scenario, vm
from vsim.cli import main as cli
from vsim.policies import PolicyError, register
from vsim.scenario import ScenarioError

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scenarios"))
import mypolicies  # noqa: E402  (the example module the docs show)


def _three_hosts(policy: str, guests=None, **kw):
    # a-0: 2 cores, b-0 and b-1: 4 cores, 1000 MIPS each.
    hosts = [host(name="a", cores=2), host(name="b", count=2, cores=4)]
    guests = guests or [vm("v", "busy", count=5)]
    return scenario(
        hosts,
        guests,
        {"busy": {"kind": "constant", "cpu": 0.5}},
        scheduler={"policy": policy, **kw},
    )


def _placed(res) -> dict[str, str]:
    ev = res.events[res.events.kind == "placed"]
    return dict(zip(ev.subject, ev.detail, strict=True))


def test_least_loaded_placement_by_hand():
    register("placement", "least_loaded", mypolicies.least_loaded)
    res = vsim.run(_three_hosts("least_loaded"))
    # Free CPU (MIPS) a-0/b-0/b-1 before each VM of 1000: 2000/4000/4000 -> b-0; 2000/3000/4000
    # -> b-1; 2000/3000/3000 -> b-0; 2000/2000/3000 -> b-1; 2000/2000/2000 -> a-0.
    assert _placed(res) == {"v-0": "b-0", "v-1": "b-1", "v-2": "b-0", "v-3": "b-1", "v-4": "a-0"}


def test_the_general_interface_places_as_the_built_in_fast_path():
    """A user first-fit through the general interface against the pool's own: anti-affinity,
    largest-first order and a rejection included."""
    register(
        "placement",
        "first_feasible",
        lambda req, view: int(np.flatnonzero(view.feasible)[0]) if view.feasible.any() else -1,
    )
    guests = [
        vm("big", "busy", count=2, vcpus=2, anti_affinity="pair"),
        vm("v", "busy", count=7),
    ]
    runs = [
        vsim.run(_three_hosts(p, guests, order="largest_first"))
        for p in ("first_fit", "first_feasible")
    ]
    fast, general = runs
    assert (fast.summary["guests_rejected"], len(_placed(fast))) == (1, 8)
    for frame in ("hosts", "guests", "events"):
        pd.testing.assert_frame_equal(getattr(fast, frame), getattr(general, frame))


def _small_consolidation(detector: str, **extra):
    hosts = [host(name="h", count=3, cores=2, nic_bandwidth="1Gbps")]
    guests = [
        vm("a", "cpu50", memory="2GiB", host="h-0"),
        vm("b", "cpu70", memory="1GiB", host="h-0"),
        vm("c", "cpu50", memory="1GiB", host="h-1"),
    ]
    workloads = {
        "cpu50": {"kind": "constant", "cpu": 0.5},
        "cpu70": {"kind": "constant", "cpu": 0.7},
    }
    cons = {"interval": 300, "detector": detector, "selection": "mmt", "underload": False}
    return scenario(
        hosts,
        guests,
        workloads,
        duration=600,
        migration={"cpu_cost_cores": 0, "device_state": 0},
        consolidation={**cons, **extra},
    )


def test_a_user_detector_sees_the_loads_and_its_verdict_moves_a_vm_by_hand():
    seen = []

    def host_zero(loads):
        seen.append((loads.hosts.copy(), loads.utilization.copy()))
        return loads.hosts == 0

    register("detector", "host_zero", host_zero)
    res = vsim.run(_small_consolidation("host_zero", param=0.8))
    hosts, util = seen[0]
    # h-0 runs a (500 MIPS) and b (700) of 2000: 0.6; h-1 runs c: 0.25; h-2 is empty.
    np.testing.assert_array_equal(hosts, [0, 1, 2])
    np.testing.assert_allclose(util, [0.6, 0.25, 0.0])
    # MMT moves the VM with the least RAM off h-0: b (1 GiB); PABFD takes the host whose power
    # grows least, among those under 80 % after it: h-1 (0.25 + 0.35 = 0.6), not the empty h-2.
    start = res.events[res.events.kind == "migration_start"].iloc[0]
    assert (start.time_s, start.subject) == (300.0, "b")
    assert start.detail.startswith("h-0 -> h-1")


def test_a_threshold_written_by_hand_decides_as_the_built_in_one():
    register("detector", "over_80", lambda loads: loads.utilization > 0.8)
    sc = vsim.load_scenario(REPO / "scenarios" / "consolidation.yaml")
    built_in = sc.model_copy(
        update={
            "consolidation": sc.consolidation.model_copy(update={"detector": "thr", "param": 0.8})
        }
    )
    user = sc.model_copy(
        update={
            "consolidation": sc.consolidation.model_copy(
                update={"detector": "over_80", "param": 0.8}
            )
        }
    )
    a, b = vsim.run(built_in), vsim.run(user)
    assert a.summary["migrations"] > 0
    for frame in ("hosts", "guests", "events", "migrations"):
        pd.testing.assert_frame_equal(getattr(a, frame), getattr(b, frame))


def test_selection_and_target_of_ones_own_by_hand():
    # h-0 (0.6) is over 0.55: select the VM with the MOST RAM (a, 2 GiB, 500 MIPS), which
    # leaves h-0 at 0.35, and place it on the highest-index host that fits: h-2.
    def most_ram(c):
        pick = np.full(len(c.hosts), -1)
        for h in np.flatnonzero(c.hosts):
            mine = np.flatnonzero((c.host == h) & c.eligible)
            if len(mine):
                pick[h] = c.guests[mine[np.argmax(c.memory[mine])]]
        return pick

    register("selection", "most_ram", most_ram)
    register(
        "target", "last_fit", lambda v: int(v.candidates[v.fits()][-1]) if v.fits().any() else -1
    )
    register("detector", "over_55", lambda loads: loads.utilization > 0.55)
    sc = _small_consolidation(
        "over_55",
        param=0.8,
        selection="most_ram",
        placement="last_fit",
        switch_off_idle=False,  # (h-2 stays on: a candidate)
    )
    res = vsim.run(sc)
    starts = res.events[res.events.kind == "migration_start"]
    assert list(starts.subject) == ["a"] and starts.detail.iloc[0].startswith("h-0 -> h-2")


def test_a_periodic_controller_ticks_every_interval_and_reports():
    class Ticks:
        def __init__(self, engine, label="t"):
            self.times, self.label = [], label

        def tick(self, engine):
            self.times.append(engine.now)

        def summary(self):
            return {f"{self.label}_ticks": len(self.times), f"{self.label}_last": self.times[-1]}

    register("controller", "ticks", Ticks)
    sc = _three_hosts("first_fit").model_dump(mode="json")
    sc["controllers"] = [{"policy": "ticks", "interval": "100s", "options": {"label": "my"}}]
    res = vsim.run(vsim.scenario.validate_scenario(sc))  # duration 300 s: ticks at 100, 200
    assert (res.summary["my_ticks"], res.summary["my_last"]) == (2, 200.0)


# ---------------------------------------------------------------------- errors
_MODULES = iter(range(10**6))


def _write(tmp_path: Path, policy_code: str, policy: str) -> Path:
    """A scenario file naming ``policy`` in a new module ``badpolicies_<k>`` beside it (a new
    name each time: Python keeps the modules it imported)."""
    module = f"badpolicies_{next(_MODULES)}"
    (tmp_path / f"{module}.py").write_text(policy_code)
    sc = _three_hosts("first_fit").model_dump(mode="json")
    sc["scheduler"]["policy"] = policy.replace("badpolicies", module)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(sc))
    return path


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("def p(req, view):\n    return 7\n", r"answered 7 while placing guest 'v-0' at t=0 s"),
        (
            "def p(req, view):\n    return int(view.feasible.argmax()) if view.feasible.any()"
            " else -1\n",
            None,  # (a feasible host: no error)
        ),
        (
            "def p(req, view):\n    return int(view.free['cpu'].argmin())\n",
            r"chose host 0 while placing guest 'v-2' at t=0 s, which cannot take it",
        ),
        (
            "def p(req, view):\n    raise KeyError('gpu')\n",
            r"failed while placing guest 'v-0' at t=0 s: KeyError: 'gpu'",
        ),
    ],
)
def test_an_impossible_answer_stops_the_run_naming_policy_and_decision(
    tmp_path, capsys, code, message
):
    path = _write(tmp_path, code, policy="badpolicies:p")
    rc = cli(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    if message is None:
        assert rc == 0
        return
    assert rc == 1
    assert re.search(r"badpolicies_\d+:p", err) and re.search(message, err), err
    assert "Traceback" not in err


def test_validation_names_the_field_and_what_is_allowed(tmp_path):
    with pytest.raises(
        ScenarioError, match=r"scheduler\.policy: unknown placement policy 'best_fitt'"
    ):
        vsim.scenario.validate_scenario(
            _three_hosts("first_fit").model_dump(mode="json")
            | {"scheduler": {"policy": "best_fitt"}}
        )
    path = _write(tmp_path, "x = 1\n", policy="nomodule_here:p")
    assert cli(["validate", str(path)]) == 1
    path = _write(tmp_path, "x = 1\n", policy="badpolicies:p")
    with pytest.raises(ScenarioError, match=r"module 'badpolicies_\d+' has no attribute 'p'"):
        vsim.load_scenario(path)


def test_a_detector_answering_the_wrong_shape_is_an_error():
    register("detector", "scalar", lambda loads: True)
    with pytest.raises(PolicyError, match=r"policy 'scalar' answered an array of shape \(\)"):
        vsim.run(_small_consolidation("scalar"))


def test_the_docs_show_the_example_policies_as_they_are():
    text = (REPO / "docs" / "policies.md").read_text()
    source = (REPO / "scenarios" / "mypolicies.py").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    shown = [b for b in blocks if b.startswith("def ")]
    assert len(shown) == 2
    for block in shown:
        assert block in source
        assert len(block.strip().splitlines()) < 30


POLICY_MODULE = """
import numpy as np


def last_feasible(req, view):
    ok = np.flatnonzero(view.feasible)
    return int(ok[-1]) if len(ok) else -1
"""


def test_a_policy_beside_the_scenario_runs_in_sweep_worker_processes(tmp_path):
    """A fresh ``vsim sweep`` process with two worker processes finds a placement policy in
    the scenario's folder; its runs differ from first fit's as the hosts do: first fit packs
    the four 2-vCPU VMs on the 4-core host (CPU overcommit 2), the policy on the 8-core one."""
    (tmp_path / "packpol.py").write_text(POLICY_MODULE)
    data = {
        "duration": 300,
        "sample_interval": 300,
        "datacenter": {"host_types": [host(name="small", cores=4), host(name="big", cores=8)]},
        "guests": [vm("v", "busy", count=4, vcpus=2)],
        "workloads": {"busy": {"kind": "constant", "cpu": 0.75}},
        "scheduler": {"overcommit": {"cpu": 2.0}},
    }
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    argv = [sys.executable, "-c", "from vsim.cli import main; raise SystemExit(main())"]
    argv += ["sweep", "s.yaml", "--set", "scheduler.policy=packpol:last_feasible,first_fit"]
    argv += ["-j", "2", "--out", "o", "--quiet"]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    runs = pd.read_csv(tmp_path / "o" / "runs.csv").set_index("scheduler.policy")
    assert (runs["status"] == "ok").all()
    # 6000 MIPS asked: on 4000 MIPS a third is unmet; on 8000 MIPS none is.
    assert runs.loc["first_fit", "unmet_cpu_frac"] == pytest.approx(1 / 3)
    assert runs.loc["packpol:last_feasible", "unmet_cpu_frac"] == pytest.approx(0.0)
