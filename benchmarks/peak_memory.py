"""Peak memory of whole processes: each case runs in a fresh Python process that imports
vsim, builds its scenario, runs it without writing results or figures, and reports its own
peak resident set (``getrusage`` ``ru_maxrss``), the resident set after the imports, and the
run's CPU time.

- ``planetlab``: PlanetLab day 20110303 under LR-MMT-1.2 with the ``cloudsim`` profile (the
  figure the performance issue compares with CloudSim's 494 MiB at ``-Xmx512m``); skipped
  without the traces.
- ``long run``: the same small datacenter for 1, 7 and 30 simulated days at a fixed 5-minute
  sample interval: 8 VMs on random walks and 4 request-level services (Poisson, 0.02/s each),
  requests table bounded (``output.request_rows``). The samples grow with the days by design
  (one row per entity per interval: reported as ``samples_mib``); everything else should not.

``python -m benchmarks.peak_memory [--tree PATH]`` (``--tree``: the vsim checkout to measure,
for a before/after in one session; default this one).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.common import REPO, planetlab_day
from benchmarks.requests import service_scenario
from vsim.scenario import validate_scenario

DAYS = (1, 7, 30)
#: Requests kept in the long run's requests table.
REQUEST_ROWS = 10_000

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {tree!r})
import vsim
imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
{build}
t = time.process_time()
res = vsim.run(sc)
cpu = time.process_time() - t
samples = sum(f.memory_usage(deep=True).sum() for f in (res.hosts, res.guests)) / 2**20
print(json.dumps({{"peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "imports_mib": imports, "cpu_s": cpu, "events": int(res.summary["events"]),
    "samples_mib": float(samples), "scipy": "scipy" in sys.modules}}))
"""

PLANETLAB = (
    "from benchmarks.planetlab_consolidation import scenario\n"
    "sc = scenario({folder!r}, 'LR-MMT-1.2', 'cloudsim')\n"
)
# (as plain data: a checkout without this module runs it too)
LONG_RUN = "from vsim.scenario import validate_scenario\nsc = validate_scenario({data})\n"


def long_run(days: int):
    """The long-run case for ``days`` simulated days (see the module's docstring)."""
    data = service_scenario(2, 2, 0.02, days * 86_400.0).model_dump(
        by_alias=True, exclude_unset=True
    )
    data["name"] = f"long-run-{days}d"
    data["sample_interval"] = "5m"
    data["output"] = {"request_rows": REQUEST_ROWS}
    data["datacenter"]["host_types"][0]["cores"] = 8
    data["workloads"]["walk"] = {"kind": "random_walk", "start": 0.3, "sigma": 0.05}
    data["guests"].append(
        {"name": "vm", "count": 8, "vcpus": 2, "memory": "2GiB", "workload": "walk"}
    )
    return validate_scenario(data)


def measure(build: str, tree: Path = REPO) -> dict:
    """One case in a fresh process with the vsim of ``tree``."""
    code = CHILD.format(tree=str(tree), build=build)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise RuntimeError(f"case failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _row(name: str, m: dict) -> dict:
    print(
        f"peak memory: {name}: peak {m['peak_mib']:.0f} MiB (after imports {m['imports_mib']:.0f}),"
        f" samples {m['samples_mib']:.1f} MiB, {m['events']:,} events, CPU {m['cpu_s']:.2f} s,"
        f" scipy loaded: {m['scipy']}",
        flush=True,
    )
    return {"benchmark": f"peak_memory_{name.replace(' ', '_')}", "cores": os.cpu_count(), **m}


def main(tree: Path = REPO) -> list[dict]:
    rows = []
    day = planetlab_day()
    if day is None:
        print("peak memory: PlanetLab traces not found; planetlab case skipped")
    else:
        rows.append(_row("planetlab LR-MMT-1.2", measure(PLANETLAB.format(folder=str(day)), tree)))
    for days in DAYS:
        data = long_run(days).model_dump(mode="json", exclude_unset=True)
        rows.append(_row(f"long run {days}d", measure(LONG_RUN.format(data=repr(data)), tree)))
    return rows


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Peak memory of whole vsim processes.")
    ap.add_argument("--tree", type=Path, default=REPO, help="vsim checkout to measure")
    main(ap.parse_args().tree)
