"""Refactoring guard: a fixed set of runs must give the results recorded in ``digests.json``.

This is a guard against unintended change, not validation: the stored digests are what the
code gave when they were recorded, right or wrong. A refactoring must leave them unchanged. A
change meant to alter results rewrites them (``VSIM_UPDATE_DIGESTS=1 pytest tests/guard``) in
the same commit, whose message says which digests changed and why.

Each run is reduced to a sha256 per column of ``hosts``, ``guests``, ``events``, ``migrations``
and ``requests`` (over the exact bytes of the values), and the summary's values written out
exactly (``wall_time_s`` left out: it is the only figure that is not deterministic).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import vsim
from vsim.scenario import load_scenario, validate_scenario

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"
DIGESTS = Path(__file__).with_name("digests.json")
DATA = Path(os.environ.get("VSIM_DATA", REPO.parent / "shared" / "data"))
FRAMES = ("hosts", "guests", "events", "migrations", "requests")
UPDATE = os.environ.get("VSIM_UPDATE_DIGESTS") == "1"


def _file(name: str, **changes) -> vsim.Scenario:
    data = load_scenario(SCENARIOS / f"{name}.yaml").model_dump(by_alias=True, exclude_unset=True)
    for path, value in changes.items():
        node = data
        *head, last = path.split(".")
        for key in head:
            node = node[key]
        node[last] = value
    return validate_scenario(data)


def _nested() -> vsim.Scenario:
    """Containers inside VMs on two contended hosts: VM and container shares, a VM with
    containers migrating, a pause and a stop of a VM that holds containers."""
    return validate_scenario(
        {
            "name": "guard-nested",
            "seed": 3,
            "duration": "2h",
            "sample_interval": "1m",
            "datacenter": {
                "host_types": [
                    {"name": "h", "count": 2, "cores": 4, "core_mips": 2000, "memory": "16GiB"}
                ]
            },
            "scheduler": {"overcommit": {"cpu": 2.0}},
            "workloads": {
                "busy": {"kind": "random_walk", "start": 0.7, "sigma": 0.1, "memory": 0.6},
                "steady": {"kind": "constant", "cpu": 0.9, "memory": 0.5, "dirty_rate": "20MB/s"},
            },
            "guests": [
                {
                    "name": "vm",
                    "count": 5,
                    "vcpus": 2,
                    "vcpu_mips": 2000,
                    "memory": "4GiB",
                    "workload": "steady",
                    "host": "h-0",
                    "boot_time": "10s",
                },
                {
                    "name": "c",
                    "kind": "container",
                    "count": 4,
                    "vcpus": 1,
                    "vcpu_mips": 2000,
                    "memory": "1GiB",
                    "workload": "busy",
                    "in_vm": "vm-0",
                    "cpu_shares": 2048,
                },
                {
                    "name": "d",
                    "kind": "container",
                    "count": 2,
                    "vcpus": 2,
                    "vcpu_mips": 2000,
                    "memory": "1GiB",
                    "workload": "busy",
                    "in_vm": "vm-1",
                },
                {
                    "name": "solo",
                    "kind": "container",
                    "count": 2,
                    "vcpus": 2,
                    "vcpu_mips": 2000,
                    "memory": "2GiB",
                    "workload": "busy",
                },
            ],
            "events": [
                {"at": "20m", "action": "migrate", "guest": "vm-0", "to": "h-1"},
                {"at": "40m", "action": "pause", "guest": "vm-1"},
                {"at": "50m", "action": "resume", "guest": "vm-1"},
                {"at": "90m", "action": "stop", "guest": "vm-1"},
            ],
        }
    )


def _mixed() -> vsim.Scenario:
    """Batch jobs with CPU, disk and network phases beside a two-tier request service and
    trace-driven VMs, under memory and CPU contention, with migrations both ways."""
    return validate_scenario(
        {
            "name": "guard-mixed",
            "seed": 11,
            "duration": "1h",
            "sample_interval": "30s",
            "datacenter": {
                "host_types": [
                    {
                        "name": "h",
                        "count": 3,
                        "cores": 4,
                        "core_mips": 2500,
                        "memory": "12GiB",
                        "disk_bandwidth": "200MB/s",
                        "disk_iops": 5000,
                        "nic_bandwidth": "1Gbps",
                    }
                ]
            },
            "scheduler": {"policy": "worst_fit", "overcommit": {"cpu": 3.0, "memory": 1.5}},
            "workloads": {
                "job": {
                    "kind": "batch",
                    "cpu_work": 2.0e6,
                    "io_bytes": "20GiB",
                    "net_bytes": "5GiB",
                    "repeat": 2,
                },
                "cpu_only": {"kind": "batch", "cpu_work": 1.5e6, "repeat": 3},
                "walk": {
                    "kind": "random_walk",
                    "start": 0.6,
                    "sigma": 0.15,
                    "memory": 0.9,
                    "disk": "20MB/s",
                    "net": "10MB/s",
                    "dirty_rate": "30MB/s",
                },
                "front": {
                    "kind": "service",
                    "arrivals": {"process": "poisson", "rate": 4},
                    "cpu": {"dist": "exponential", "mean": 400},
                    "workers": 2,
                    "next": "back",
                    "slo": "500ms",
                },
                "back": {
                    "kind": "service",
                    "cpu": {"dist": "lognormal", "mean": 300, "cv": 1.5},
                    "disk_ops": 2,
                    "workers": 4,
                },
            },
            "guests": [
                {
                    "name": "job",
                    "count": 3,
                    "vcpus": 2,
                    "vcpu_mips": 2500,
                    "memory": "2GiB",
                    "workload": "job",
                    "start": "2m",
                },
                {
                    "name": "crunch",
                    "count": 2,
                    "vcpus": 2,
                    "vcpu_mips": 2500,
                    "memory": "2GiB",
                    "workload": "cpu_only",
                    "host": "h-2",
                },
                {
                    "name": "walk",
                    "count": 5,
                    "vcpus": 2,
                    "vcpu_mips": 2500,
                    "memory": "4GiB",
                    "workload": "walk",
                },
                {
                    "name": "front",
                    "count": 1,
                    "vcpus": 2,
                    "vcpu_mips": 2500,
                    "memory": "2GiB",
                    "workload": "front",
                    "host": "h-0",
                },
                {
                    "name": "back",
                    "count": 1,
                    "vcpus": 2,
                    "vcpu_mips": 2500,
                    "memory": "2GiB",
                    "workload": "back",
                    "host": "h-1",
                },
            ],
            "events": [
                {"at": "10m", "action": "migrate", "guest": "walk-0", "to": "h-2"},
                {"at": "15m", "action": "migrate", "guest": "front", "to": "h-2"},
                {"at": "20m", "action": "migrate", "guest": "job-1", "to": "h-1"},
                {"at": "45m", "action": "pause", "guest": "back"},
                {"at": "46m", "action": "resume", "guest": "back"},
            ],
        }
    )


def _planetlab() -> vsim.Scenario:
    folder = DATA / "planetlab" / "20110303"
    if not folder.is_dir():
        pytest.skip("PlanetLab traces not found (set VSIM_DATA)")
    from benchmarks.planetlab_consolidation import scenario

    return scenario(str(folder), "LR-MMT-1.2", "cloudsim")


CASES = {
    "quickstart": lambda: _file("quickstart"),
    "failover": lambda: _file("failover"),
    "virtualization": lambda: _file("virtualization"),
    "consolidation": lambda: _file("consolidation"),
    "consolidation-cloudsim": lambda: _file(
        "consolidation", **{"consolidation.profile": "cloudsim"}
    ),
    "nested": _nested,
    "timeslice": lambda: _file("timeslice"),
    "mixed": _mixed,
    "planetlab-lr-mmt": _planetlab,
}


def _column_digest(col: pd.Series) -> str:
    h = hashlib.sha256()
    if isinstance(col.dtype, pd.CategoricalDtype):
        h.update(np.ascontiguousarray(col.cat.codes.to_numpy()).tobytes())
        h.update("\x00".join(map(str, col.cat.categories)).encode())
    elif col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
        h.update("\x00".join(map(repr, col.tolist())).encode())
    else:
        values = col.to_numpy()
        h.update(str(values.dtype).encode())
        h.update(np.ascontiguousarray(values).tobytes())
    return h.hexdigest()


def _exact(value) -> str:
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return repr(value)


def digest(result) -> dict:
    out = {"summary": {str(k): _exact(v) for k, v in result.summary.items() if k != "wall_time_s"}}
    for name in FRAMES:
        frame = getattr(result, name)
        out[name] = {"rows": len(frame)} | {str(c): _column_digest(frame[c]) for c in frame}
    return out


def _stored() -> dict:
    return json.loads(DIGESTS.read_text()) if DIGESTS.exists() else {}


@pytest.mark.parametrize("case", sorted(CASES))
def test_results_match_the_recorded_digests(case):
    got = digest(vsim.run(CASES[case]()))
    if UPDATE:
        stored = _stored()
        stored[case] = got
        DIGESTS.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
        return
    want = _stored().get(case)
    assert want is not None, f"no digest recorded for {case}: run with VSIM_UPDATE_DIGESTS=1"
    assert got["summary"] == want["summary"], f"{case}: summary changed"
    for name in FRAMES:
        changed = sorted(
            c for c in set(got[name]) | set(want[name]) if got[name].get(c) != want[name].get(c)
        )
        assert not changed, f"{case}: {name} changed in {changed}"
