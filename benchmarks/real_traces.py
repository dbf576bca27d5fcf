"""Reading real traces: the 500 Bitbrains GWA-T-12 Rnd VMs (a month, 3.9 million rows, 455 MB
of CSV once inflated), OpenDC's SURF week (6,295 jobs, 2.3 million fragments), and the
Bitbrains 500-VM consolidation scenario end to end (one day, LR-MMT).

``python -m benchmarks.real_traces [--runs N]``. Each figure is the median of ``N`` runs (the
development machine's speed varies within minutes); peak memory is NumPy's and Python's, traced
(pyarrow's parse buffers are not traced). Bitbrains is read cold (every file parsed) and warm
(the parsed rows from the cache a first read fills, :func:`vsim.traces.grid.cache_file`).
"""

from __future__ import annotations

import argparse
import os
import tempfile

import vsim
from benchmarks.common import DATA, REPO, median, repeated, spread, timed
from vsim.traces import read_bitbrains, read_opendc


def _bitbrains(runs: int) -> list[dict]:
    folder = DATA / "bitbrains-rnd" / "2013-7"
    if not folder.is_dir():
        print("real_traces: Bitbrains skipped (bitbrains-rnd/2013-7 not found; set VSIM_DATA)")
        return []
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        # Cold: every file parsed (no cache). Warm: the parsed rows read from a filled cache.
        for label, setting in (("cold", "off"), ("warm", cache)):
            os.environ["VSIM_CACHE"] = setting
            read_bitbrains(folder)  # warm-up: imports; fills the cache in the warm case
            walls, trace = repeated(lambda: read_bitbrains(folder), runs)
            _, peak, _ = timed(lambda: read_bitbrains(folder), memory=True)
            shape = trace.demand.cpu.shape
            print(
                f"real_traces: read_bitbrains 500 VMs x {shape[1]} 5-min samples (CPU, memory, "
                f"disk, net), {label}: {spread(walls)} on {os.cpu_count()} cores, "
                f"peak traced {peak:.0f} MB"
            )
            rows.append(
                {
                    "benchmark": f"read_bitbrains_rnd_500vm_month_{label}",
                    "cores": os.cpu_count(),
                    "wall_s_median": median(walls),
                    "wall_s_min": min(walls),
                    "peak_traced_mb": peak,
                }
            )
    os.environ.pop("VSIM_CACHE")
    return rows


def _surf(runs: int) -> list[dict]:
    folder = DATA / "opendc-traces" / "surf-week"
    if not folder.is_dir():
        print("real_traces: SURF week skipped (opendc-traces/surf-week not found)")
        return []
    walls, trace = repeated(lambda: read_opendc(folder), runs)
    print(f"real_traces: read_opendc SURF week, {len(trace.guests)} jobs: {spread(walls)}")
    return [{"benchmark": "read_opendc_surf_week", "wall_s_median": median(walls)}]


def _consolidation(runs: int) -> list[dict]:
    if not (DATA / "bitbrains-rnd" / "2013-7").is_dir():
        return []
    path = REPO / "scenarios" / "bitbrains.yaml"
    sc = vsim.scenario.load_scenario(
        path, {"workloads.bitbrains.path": str(DATA / "bitbrains-rnd" / "2013-7")}
    )
    walls, res = repeated(lambda: vsim.run(sc), runs)
    s = res.summary
    print(
        f"real_traces: scenarios/bitbrains.yaml ({int(s['guests'])} VMs, {int(s['hosts'])} hosts,"
        f" 24 h, LR-MMT): {spread(walls)} after the read; {int(s['migrations'])} migrations, "
        f"{int(s['hosts_switched_off'])} hosts switched off, unmet_cpu_frac "
        f"{s['unmet_cpu_frac']:.4f}"
    )
    return [
        {
            "benchmark": "bitbrains_500vm_consolidation_24h",
            "wall_s_median": median(walls),
            "guests": int(s["guests"]),
            "migrations": int(s["migrations"]),
            "unmet_cpu_frac": float(s["unmet_cpu_frac"]),
        }
    ]


def main(runs: int = 3) -> list[dict]:
    return _bitbrains(runs) + _surf(runs) + _consolidation(runs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    main(parser.parse_args().runs)
