"""Placement under change: 10,000 placements and departures over 100,000 hosts, timed per decision.

``benchmarks.kernels`` times ``HostPool.choose`` on a pool that never changes, where each
decision can start from the previous one's best score. Here every operation changes the pool:
a placement of a request of its own size (drawn per decision) chooses a host and allocates on
it; a departure releases an earlier placement. Each placement decision is timed alone and, in
the same run, against the same decision as a full scan over a (hosts x resources) matrix kept
in step with the pool; the two must choose the same host every time.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from vsim.core.placement import HostPool

RESOURCES = ("cpu", "memory", "disk", "net")
SEED = 7  # the benchmark's own generator: pool state, request sizes, departures
CHECK_EVERY = 10  # decisions between two matrix-scan baselines (7 ms each at 100,000 hosts)


def _pool(n_hosts: int, rng: np.random.Generator) -> tuple[HostPool, np.ndarray, np.ndarray]:
    cap = {r: rng.uniform(50, 100, n_hosts) for r in RESOURCES}
    pool = HostPool(cap)
    capm = np.stack([cap[r] for r in RESOURCES], axis=1)
    usedm = capm * rng.uniform(0, 0.9, (n_hosts, len(RESOURCES)))
    for k, r in enumerate(RESOURCES):
        pool.used[r][:] = usedm[:, k]
    return pool, capm, usedm


def _matrix_best_fit(capm: np.ndarray, usedm: np.ndarray, reqv: np.ndarray) -> int:
    free = capm - usedm
    ok = (free >= reqv).all(axis=1)
    if not ok.any():
        return -1
    score = ((free - reqv) / capm).sum(axis=1)
    return int(np.flatnonzero(ok)[np.argmin(score[ok])])


def churn(n_hosts: int = 100_000, operations: int = 10_000, seed: int = SEED) -> dict:
    """Run the sequence once; per-decision times of the pool and of the matrix scan, in ms."""
    rng = np.random.default_rng(seed)
    pool, capm, usedm = _pool(n_hosts, rng)
    placed: list[tuple[int, tuple[float, ...]]] = []
    t_pool, t_matrix = [], []
    departures = 0
    for _ in range(operations):
        if placed and rng.random() < 0.4:
            host, req = placed.pop(int(rng.integers(len(placed))))
            pool.release(host, req)
            usedm[host] = np.maximum(usedm[host] - req, 0.0)
            departures += 1
            continue
        reqv = rng.uniform(1.0, 20.0, len(RESOURCES))
        req = dict(zip(RESOURCES, reqv.tolist(), strict=True))
        t0 = time.perf_counter()
        host = pool.choose(req, "best_fit")
        t1 = time.perf_counter()
        t_pool.append(t1 - t0)
        if len(t_pool) % CHECK_EVERY == 1:
            ref = _matrix_best_fit(capm, usedm, reqv)
            t_matrix.append(time.perf_counter() - t1)
            if host != ref:
                raise AssertionError(f"pool chose {host}, the matrix scan {ref}")
        if host >= 0:
            values = tuple(reqv.tolist())
            pool.allocate(host, values)
            usedm[host] += reqv
            placed.append((host, values))
    return {
        "pool_ms": np.array(t_pool) * 1e3,
        "matrix_ms": np.array(t_matrix) * 1e3,
        "placements": len(t_pool),
        "departures": departures,
    }


def main(n_hosts: int = 100_000, operations: int = 10_000, repeat: int = 3) -> list[dict]:
    """``repeat`` runs of the same sequence; per run the median decision time, then their median."""
    runs = [churn(n_hosts, operations) for _ in range(max(repeat, 1))]
    med = [float(np.median(r["pool_ms"])) for r in runs]
    p99 = [float(np.percentile(r["pool_ms"], 99)) for r in runs]
    mat = [float(np.median(r["matrix_ms"])) for r in runs]
    last = runs[-1]
    ratio = float(np.median([m / p for m, p in zip(mat, med, strict=True)]))
    print(
        f"placement under change: {last['placements']:,} best-fit decisions and "
        f"{last['departures']:,} departures over {n_hosts:,} hosts, every one changing the pool: "
        f"median {np.median(med):.3f} ms per decision over {len(runs)} runs "
        f"({min(med):.3f}-{max(med):.3f}), p99 {np.median(p99):.3f} ms; full matrix scan "
        f"{np.median(mat):.3f} ms = {ratio:.1f}x (same decisions, same run); "
        f"{os.cpu_count()} cores"
    )
    return [
        {
            "benchmark": f"placement_churn_{n_hosts // 1000}k",
            "cores": os.cpu_count(),
            "ms": float(np.median(med)),
            "ms_min": min(med),
            "ms_max": max(med),
            "p99_ms": float(np.median(p99)),
            "matrix_ms": float(np.median(mat)),
            "placements": last["placements"],
            "departures": last["departures"],
            "runs": len(runs),
        }
    ]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Placement under change over 100,000 hosts.")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the sequence; medians")
    ap.add_argument("--hosts", type=int, default=100_000)
    ap.add_argument("--operations", type=int, default=10_000)
    args = ap.parse_args()
    main(args.hosts, args.operations, args.repeat)
