"""Reading real traces: the 500 Bitbrains GWA-T-12 Rnd VMs (a month, 3.9 million rows, 455 MB
of CSV once inflated), OpenDC's SURF week (6,295 jobs, 2.3 million fragments), and the
Bitbrains 500-VM consolidation scenario end to end (one day, LR-MMT).

``python -m benchmarks.real_traces [--runs N] [--against REV] [--bitbrains-only]``. Each
figure is the median of ``N`` runs (the development machine's speed varies within minutes).
Bitbrains is read cold (every file parsed) and warm (the parsed rows from the cache a first read
fills, :func:`vsim.traces.grid.cache_file`), each read in a fresh process, with its wall and CPU
time (all threads) and the process's peak RSS (pyarrow's buffers included). ``--against REV``
reads with revision REV's reader too, alternating with this tree's read by read.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import vsim
from benchmarks.common import (
    DATA,
    REPO,
    checkout,
    median,
    prune_worktrees,
    repeated,
    spread,
)
from vsim.traces import read_opendc

# One read in a fresh process with the vsim of ``tree``: a first read (imports, the page cache;
# it fills the trace cache when warm), then the timed one. Peak RSS counts pyarrow's buffers.
READ_CODE = (
    "import json, os, resource, sys, time\n"
    "sys.path.insert(0, {tree!r})\n"
    "os.environ['VSIM_CACHE'] = {cache!r}\n"
    "from vsim.traces import read_bitbrains\n"
    "read_bitbrains({folder!r})\n"
    "t, c = time.perf_counter(), time.process_time()\n"
    "w = read_bitbrains({folder!r})\n"
    "wall, cpu = time.perf_counter() - t, time.process_time() - c\n"
    "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
    "print(json.dumps({{'wall_s': wall, 'cpu_s': cpu, 'rss_mb': rss, 'load': os.getloadavg()[0],"
    " 'shape': list(w.demand.cpu.shape)}}))\n"
)


def _read_once(tree: Path, cache: str, folder: Path) -> dict:
    code = READ_CODE.format(tree=str(tree), cache=cache, folder=str(folder))
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _bitbrains(runs: int, against: str | None) -> list[dict]:
    """Cold (every file parsed, no cache) and warm (the parsed rows from a filled cache) reads,
    each run in a fresh process; with ``against``, that revision's reader too, alternated
    with this tree's run by run, so both see the same machine."""
    folder = DATA / "bitbrains-rnd" / "2013-7"
    if not folder.is_dir():
        print("real_traces: Bitbrains skipped (bitbrains-rnd/2013-7 not found; set VSIM_DATA)")
        return []
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"this tree": REPO}
        if against:
            trees = {against: checkout(against, Path(tmp) / "base"), **trees}
        caches = {side: str(Path(tmp) / f"cache-{k}") for k, side in enumerate(trees)}
        got = {(side, mode): [] for side in trees for mode in ("cold", "warm")}
        try:
            for k in range(max(runs, 1)):
                sides = list(trees) if k % 2 == 0 else list(trees)[::-1]
                for mode in ("cold", "warm"):
                    for side in sides:
                        cache = "off" if mode == "cold" else caches[side]
                        got[side, mode].append(_read_once(trees[side], cache, folder))
        finally:
            if against:
                prune_worktrees()
    return [_bitbrains_row(side, mode, got[side, mode]) for side, mode in got]


def _bitbrains_row(side: str, mode: str, reads: list[dict]) -> dict:
    walls = [r["wall_s"] for r in reads]
    cpus = [r["cpu_s"] for r in reads]
    rss = max(r["rss_mb"] for r in reads)
    vms, bins = reads[0]["shape"]
    print(
        f"real_traces: read_bitbrains {vms} VMs x {bins} 5-min samples (CPU, memory, disk, "
        f"net), {mode}, {side}: wall {spread(walls)}, CPU median {median(cpus):.2f} s "
        f"({min(cpus):.2f}-{max(cpus):.2f} s), peak RSS {rss:.0f} MB, on {os.cpu_count()} "
        f"cores (load average {median([r['load'] for r in reads]):.1f})",
        flush=True,
    )
    return {
        "benchmark": f"read_bitbrains_rnd_500vm_month_{mode}",
        "tree": side,
        "cores": os.cpu_count(),
        "wall_s_median": median(walls),
        "wall_s_min": min(walls),
        "cpu_s_median": median(cpus),
        "peak_rss_mb": rss,
    }


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


def main(runs: int = 5, against: str | None = None) -> list[dict]:
    return _bitbrains(runs, against) + _surf(runs) + _consolidation(runs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--against",
        metavar="REV",
        help="also read Bitbrains with revision REV (a commit, a branch), run by run",
    )
    parser.add_argument("--bitbrains-only", action="store_true", help="skip SURF and the run")
    args = parser.parse_args()
    if args.bitbrains_only:
        _bitbrains(args.runs, args.against)
    else:
        main(args.runs, args.against)
