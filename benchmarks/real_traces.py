"""Reading real traces: the 500 Bitbrains GWA-T-12 Rnd VMs (a month, 3.9 million rows, 455 MB
of CSV once inflated), OpenDC's SURF week (6,295 jobs, 2.3 million fragments), and the
Bitbrains 500-VM consolidation scenario end to end (one day, LR-MMT).

``python -m benchmarks.real_traces [--runs N]``. Each figure is the median of ``N`` runs (the
development machine's speed varies within minutes); peak memory is NumPy's and Python's, traced
(pyarrow's parse buffers are not traced).
"""

from __future__ import annotations

import argparse
import os

import vsim
from benchmarks.common import DATA, REPO, median, repeated, spread, timed
from vsim.traces import read_bitbrains, read_opendc


def _bitbrains(runs: int) -> list[dict]:
    folder = DATA / "bitbrains-rnd" / "2013-7"
    if not folder.is_dir():
        print("real_traces: Bitbrains skipped (bitbrains-rnd/2013-7 not found; set VSIM_DATA)")
        return []
    walls, trace = repeated(lambda: read_bitbrains(folder), runs)
    _, peak, _ = timed(lambda: read_bitbrains(folder), memory=True)
    shape = trace.demand.cpu.shape
    print(
        f"real_traces: read_bitbrains 500 VMs x {shape[1]} 5-min samples (CPU, memory, disk, "
        f"net): {spread(walls)} on {os.cpu_count()} cores, peak traced {peak:.0f} MB"
    )
    return [
        {
            "benchmark": "read_bitbrains_rnd_500vm_month",
            "cores": os.cpu_count(),
            "wall_s_median": median(walls),
            "wall_s_min": min(walls),
            "peak_traced_mb": peak,
            "series": shape[0],
            "samples": shape[1],
        }
    ]


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
