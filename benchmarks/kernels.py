"""The NumPy kernels against plain baselines, measured side by side in one run.

- placement: one best-fit decision over 100,000 hosts with ``HostPool`` (one array per
  resource), against the same decision on a (hosts x resources) matrix and a plain-Python loop.
  The special case: the pool never changes and each of the 200 decisions starts from the
  previous one's best score; ``benchmarks.placement_churn`` times decisions on a changing pool;
- placement_policies: one decision per policy over the same 100,000 hosts (median of 200);
- sharing: weighted max-min for 10,000 hosts x 10 guests with the ``bincount`` solver, against
  solving host by host with the plain-Python single-resource solver.
"""

from __future__ import annotations

import os
import time

import numpy as np

from vsim.core.placement import POLICIES, HostPool
from vsim.core.sharing import maxmin_one, maxmin_share

RESOURCES = ("cpu", "memory", "disk", "net")


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3


def _placement_pool(n_hosts: int, seed: int) -> tuple[HostPool, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    cap = {r: rng.uniform(50, 100, n_hosts) for r in RESOURCES}
    pool = HostPool(cap)
    for r in RESOURCES:
        pool.used[r][:] = cap[r] * rng.uniform(0, 0.9, n_hosts)
    return pool, cap


def placement(n_hosts: int = 100_000, seed: int = 1) -> dict:
    pool, cap = _placement_pool(n_hosts, seed)
    req = {r: 10.0 for r in RESOURCES}
    vec = _median_ms(lambda: pool.choose(req, "best_fit"), 200)

    capm = np.stack([cap[r] for r in RESOURCES], axis=1)
    usedm = np.stack([pool.used[r] for r in RESOURCES], axis=1)
    reqv = np.full(len(RESOURCES), 10.0)

    def matrix() -> int:
        free = capm - usedm
        ok = (free >= reqv).all(axis=1)
        score = ((free - reqv) / capm).sum(axis=1)
        return int(np.flatnonzero(ok)[np.argmin(score[ok])])

    mat = _median_ms(matrix, 50)
    caps = [cap[r].tolist() for r in RESOURCES]
    useds = [pool.used[r].tolist() for r in RESOURCES]

    def python_loop() -> int:
        best, best_h = np.inf, -1
        for h in range(n_hosts):
            score = 0.0
            for c, u in zip(caps, useds, strict=True):
                free = c[h] - u[h]
                if free < 10.0:
                    break
                score += (free - 10.0) / c[h]
            else:
                if score < best:
                    best, best_h = score, h
        return best_h

    py = _median_ms(python_loop, 3)
    assert python_loop() == pool.choose(req, "best_fit") == matrix()
    print(
        f"placement: best-fit over {n_hosts:,} hosts, unchanged pool (the last decision's "
        f"hint reused): {vec:.3f} ms per decision "
        f"(matrix {mat:.3f} ms = {mat / vec:.1f}x, plain Python {py:.0f} ms = {py / vec:.0f}x)"
    )
    return {
        "benchmark": "placement_best_fit_100k",
        "cores": os.cpu_count(),
        "ms": vec,
        "matrix_ms": mat,
        "python_ms": py,
    }


def placement_policies(n_hosts: int = 100_000, seed: int = 1) -> dict:
    """Every policy on the pool of :func:`placement`, without allocating (same state each time)."""
    pool, _ = _placement_pool(n_hosts, seed)
    req = {r: 10.0 for r in RESOURCES}
    rng = np.random.default_rng(seed)
    ms = {p: _median_ms(lambda p=p: pool.choose(req, p, rng=rng), 200) for p in POLICIES}
    print(
        f"placement: one decision over {n_hosts:,} hosts, ms: "
        + ", ".join(f"{p} {v:.3f}" for p, v in ms.items())
    )
    return {"benchmark": "placement_policies_100k", "cores": os.cpu_count()} | {
        f"{p}_ms": v for p, v in ms.items()
    }


def sharing(n_hosts: int = 10_000, per_host: int = 10, seed: int = 2) -> dict:
    rng = np.random.default_rng(seed)
    n = n_hosts * per_host
    group = np.repeat(np.arange(n_hosts), per_host)
    weight = rng.uniform(0.5, 2.0, n)
    demand = rng.uniform(0, 400, n)
    capacity = np.full(n_hosts, 1000.0)
    vec = _median_ms(lambda: maxmin_share(capacity, group, weight, demand), 20)
    w, d = weight.tolist(), demand.tolist()

    def per_host_loop() -> list[float]:
        out: list[float] = []
        for h in range(n_hosts):
            a = h * per_host
            out += maxmin_one(1000.0, w[a : a + per_host], d[a : a + per_host])
        return out

    loop = _median_ms(per_host_loop, 5)
    assert np.allclose(per_host_loop(), maxmin_share(capacity, group, weight, demand))
    print(
        f"sharing: weighted max-min, {n_hosts:,} hosts x {per_host} guests: {vec:.2f} ms "
        f"(host-by-host plain Python {loop:.1f} ms = {loop / vec:.1f}x)"
    )
    return {
        "benchmark": "maxmin_10k_hosts_x10",
        "cores": os.cpu_count(),
        "ms": vec,
        "per_host_python_ms": loop,
    }


def main() -> list[dict]:
    return [placement(), placement_policies(), sharing()]


if __name__ == "__main__":
    main()
