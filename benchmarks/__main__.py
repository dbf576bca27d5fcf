"""Run the benchmark suite: ``python -m benchmarks`` (or ``make bench``).

Prints each figure with the machine's core count and writes benchmarks/out/results.csv.
Benchmarks are measurements, never pass/fail tests.
"""

from __future__ import annotations

import pandas as pd

from benchmarks import (
    balancers,
    contention,
    dask_sweep,
    deployment_diurnal,
    fleet_consolidation,
    kernels,
    peak_memory,
    placement_churn,
    planetlab_consolidation,
    planetlab_static,
    real_traces,
    requests,
    scaling,
    timeslice,
)
from benchmarks.common import REPO

SUITE = [
    kernels,
    balancers,
    placement_churn,
    planetlab_static,
    requests,
    contention,
    scaling,
    deployment_diurnal,
    planetlab_consolidation,
    fleet_consolidation,
    real_traces,
    timeslice,
    peak_memory,
    dask_sweep,
]


def main() -> None:
    rows = []
    for bench in SUITE:
        rows.extend(bench.main())
    out = REPO / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    if rows:
        # Benchmarks report different columns; one long table keeps them all.
        pd.DataFrame(rows).to_csv(out / "results.csv", index=False)
        print(f"written {out / 'results.csv'}")


if __name__ == "__main__":
    main()
